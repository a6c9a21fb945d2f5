//! Telnyx Messaging API v2: the HTTP client that sends, the webhook shapes and signatures, and
//! the sandbox carrier that stands in for Telnyx when no account is configured.

pub mod client;
pub mod sandbox;
pub mod signature;
pub mod webhook;
