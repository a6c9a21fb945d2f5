//! Belfry: church staff send SMS through Telnyx and watch delivery live.
//!
//! This crate is the server around the actor tree of `belfry-actors`: configuration, the
//! database, HTTP routes, the WebSocket gateway, the Telnyx client and the sandbox carrier.

pub mod accounts;
pub mod adapters;
pub mod app;
pub mod auth;
pub mod breaker_orders;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod gateway;
pub mod http;
pub mod limits;
pub mod mail;
pub mod mentions;
pub mod node_watch;
pub mod notices;
pub mod periodic;
pub mod routes;
pub mod sending_watch;
pub mod server;
pub mod state;
pub mod summary_watch;
pub mod telemetry;
pub mod telnyx;
pub mod text_courier;
