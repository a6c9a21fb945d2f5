//! The breaker's vocabulary: its configuration, states, messages, counters and the snapshot
//! admins see.

use std::time::Duration;

use ractor::RpcReplyPort;
use serde::Serialize;

use super::window::{Call, Rates};
use crate::ports::OutboundSms;

pub use crate::protocol::{ADMINS_ROOM, BreakerState};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BreakerConfig {
    pub window_size: usize,
    pub minimum_calls: usize,
    /// Percent.
    pub failure_rate_threshold: f64,
    #[serde(serialize_with = "as_millis", rename = "slowCallThresholdMs")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub slow_call_threshold: Duration,
    /// Percent.
    pub slow_call_rate_threshold: f64,
    #[serde(serialize_with = "as_millis", rename = "waitInOpenMs")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub wait_in_open: Duration,
    pub half_open_calls: usize,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window_size: 20,
            minimum_calls: 10,
            failure_rate_threshold: 50.0,
            slow_call_threshold: Duration::from_secs(5),
            slow_call_rate_threshold: 100.0,
            wait_in_open: Duration::from_secs(30),
            half_open_calls: 3,
        }
    }
}

/// What became of one job, as its worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Failed {
        retryable: bool,
        retry_scheduled: bool,
    },
    /// Not sent: the recipient was no longer claimed, or opted out.
    Skipped,
}

pub enum BreakerMsg {
    Submit(Vec<OutboundSms>),
    Completed {
        recipient_id: i64,
        outcome: Outcome,
        elapsed: Duration,
    },
    /// A worker's job found the breaker shut (or its church paused) right before its call:
    /// not sent, to be held.
    NotPermitted(OutboundSms),
    /// A church resumed its sending: its held jobs go out, in order.
    ChurchResumed(i64),
    /// The wait in OPEN that began with transition number `.0` is over.
    OpenElapsed(u64),
    /// An admin's order: `closed`, `forced_open` or `disabled`.
    Set {
        state: BreakerState,
        reply: RpcReplyPort<Result<BreakerSnapshot, NotSettable>>,
    },
    Snapshot(RpcReplyPort<BreakerSnapshot>),
}

/// An order for a state the breaker only reaches by itself (`open`, `half_open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotSettable(pub BreakerState);

impl std::fmt::Display for NotSettable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} cannot be set by hand", self.0)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub successes: u64,
    pub failures: u64,
    pub permanent_failures: u64,
    pub slow_calls: u64,
    pub retries_scheduled: u64,
    pub dead_lettered: u64,
    pub skipped: u64,
    pub times_opened: u64,
    pub transitions: u64,
    /// Jobs that had to wait because the breaker did not permit them at once.
    pub held_total: u64,
    /// Jobs a worker held when the breaker shut: handed back uncalled (and held again).
    pub not_permitted: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub config: BreakerConfig,
    /// The closed-state window, oldest call first.
    pub window: Vec<Call>,
    pub rates: Rates,
    pub counts: Counts,
    /// Jobs waiting for the breaker to let them through.
    pub held: usize,
    /// Jobs handed to the sender pool and not yet reported back.
    pub in_flight: u64,
    pub probes_in_flight: usize,
    pub opened_at: Option<String>,
    pub next_probe_at: Option<String>,
}
