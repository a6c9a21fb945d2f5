//! Integration tests: the real server, a real database and real sockets; only Telnyx is fake.

mod admin;
mod auth;
mod breaker;
mod browser;
mod caching;
mod chat;
mod cli;
mod delivery;
mod dlq;
mod fake_telnyx;
mod helpers;
mod history;
mod limits;
mod members;
mod opt_out;
mod outbox;
mod pacing;
mod pipelined;
mod prepared;
mod protocol;
mod rooms;
mod totals;
mod webhooks;
mod websocket;
