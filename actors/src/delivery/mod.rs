//! Delivery: every recipient goes through the circuit breaker to a pool of sender workers.
//!
//! The [`breaker`] decides whether the carrier may be called, schedules retries with backoff
//! and hands final failures to the dead-letter queue; the [`sender`] workers make the calls.

pub mod backoff;
pub mod breaker;
pub mod sender;

use std::time::Duration;

use crate::ports::AttemptRecord;

/// One recipient's SMS on its way to the carrier.
#[derive(Debug, Clone)]
pub struct SendJob {
    pub recipient_id: i64,
    pub to: String,
    pub text: String,
    /// Attempts made so far.
    pub attempts: Vec<AttemptRecord>,
}

impl SendJob {
    pub fn new(recipient_id: i64, to: String, text: String) -> Self {
        Self {
            recipient_id,
            to,
            text,
            attempts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub max_attempts: u32,
    pub backoff: backoff::Backoff,
    /// A carrier call slower than this counts as a retryable failure.
    pub send_timeout: Duration,
    pub workers: usize,
    /// Consecutive retryable failures that open the breaker.
    pub breaker_failure_threshold: u32,
    /// How long the breaker stays open before it lets one probe through.
    pub breaker_open_for: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: backoff::Backoff::default(),
            send_timeout: Duration::from_secs(10),
            workers: 8,
            breaker_failure_threshold: 5,
            breaker_open_for: Duration::from_secs(30),
        }
    }
}
