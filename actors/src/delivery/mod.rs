//! Delivery: every recipient goes through the circuit breaker to a pool of sender workers.
//!
//! The [`outbox`] claims due recipients from the database and submits them; the [`breaker`]
//! decides whether the carrier may be called; the [`sender`] workers make the calls and decide
//! what follows a failure (a durable retry after a backoff, or the dead-letter queue).

pub mod attempts;
pub mod backoff;
pub mod breaker;
pub mod church_holds;
pub mod outbox;
pub mod pacer;
pub mod reconciler;
pub mod sender;

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub max_attempts: u32,
    pub backoff: backoff::Backoff,
    /// A carrier call slower than this counts as a retryable failure.
    pub send_timeout: Duration,
    pub workers: usize,
    /// Messages per second per sender number; 0 sends as fast as the workers go.
    pub send_rate: f64,
    pub breaker: breaker::BreakerConfig,
    /// Recipients claimed from the outbox per query.
    pub outbox_batch: usize,
    /// How often the outbox looks for due work it was not told about.
    pub outbox_poll: Duration,
    /// How often the outbox looks for what dead nodes left.
    pub outbox_reap: Duration,
    /// Asking the carrier about recipients whose reports are late.
    pub reconcile: reconciler::ReconcileConfig,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: backoff::Backoff::default(),
            send_timeout: Duration::from_secs(10),
            workers: 8,
            send_rate: 50.0,
            breaker: breaker::BreakerConfig::default(),
            outbox_batch: 500,
            outbox_poll: Duration::from_secs(1),
            outbox_reap: Duration::from_secs(5),
            reconcile: reconciler::ReconcileConfig::default(),
        }
    }
}
