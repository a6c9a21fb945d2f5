//! The ports the actors need from the outside world, implemented by the server crate.
//!
//! They are object-safe traits returning boxed futures so that actors hold `Arc<dyn Port>` and
//! stay free of generic parameters; the server crate picks the concrete carrier (real Telnyx or
//! the sandbox) at start-up.

use std::future::Future;
use std::pin::Pin;

use crate::events::{MessageEvent, RoomEvent};

pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One SMS to one recipient, as the carrier needs it. The sender number and the webhook URL
/// are the gateway's own configuration.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    pub recipient_id: i64,
    pub to: String,
    pub text: String,
}

/// Whether trying the same request again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Transport error, timeout, 408, 429, 5xx: the carrier may accept it later.
    Retryable,
    /// Any other rejection: sending it again would be rejected again.
    Permanent,
}

/// A failed attempt, as the carrier reported it.
#[derive(Debug, Clone)]
pub struct SendFailure {
    pub kind: FailureKind,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub detail: String,
}

impl SendFailure {
    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }
}

/// The carrier (Telnyx, or the built-in sandbox).
pub trait SmsGateway: Send + Sync + 'static {
    /// Hands one SMS to the carrier; on success returns the carrier's message id.
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>>;
}

/// One attempt at sending, kept for the dead-letter record.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub attempt: u32,
    pub at: String,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub detail: String,
}

/// What could not be delivered, and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub recipient_id: i64,
    pub reason: String,
    pub attempts: Vec<AttemptRecord>,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The durable side of delivery. Each method applies one recipient transition atomically and
/// returns the event to publish, or `None` when the transition did not apply (an older status
/// arriving late, a recipient already final).
pub trait DeliveryStore: Send + Sync + 'static {
    fn mark_accepted(
        &self,
        recipient_id: i64,
        provider_message_id: String,
        attempts: u32,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>>;

    fn dead_letter(
        &self,
        letter: DeadLetter,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>>;
}

/// Where a room delivers events: one per open socket.
pub trait EventSink: Send + Sync + 'static {
    /// Queues the event without waiting. Returns `false` when the connection is gone or cannot
    /// keep up, and the room forgets it.
    fn deliver(&self, event: &RoomEvent) -> bool;
}
