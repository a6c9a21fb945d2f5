//! What each finished job teaches the breaker: its counters, the closed-state window (which
//! may open it), and the half-open probes' verdict (which closes or reopens it).

use std::time::Duration;

use ractor::ActorRef;

use super::window::Call;
use super::{BreakerActorState, BreakerMsg, BreakerState, Outcome};

impl BreakerActorState {
    pub(super) fn completed(
        &mut self,
        myself: &ActorRef<BreakerMsg>,
        recipient_id: i64,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let was_probe = self.gate.remove_probe(recipient_id);
        let slow = elapsed >= self.config.slow_call_threshold;
        let call = match outcome {
            Outcome::Accepted => {
                self.counts.successes += 1;
                Some(Call {
                    failed: false,
                    slow,
                })
            }
            Outcome::Failed {
                retryable,
                retry_scheduled,
            } => {
                if retryable {
                    self.counts.failures += 1;
                } else {
                    self.counts.permanent_failures += 1;
                }
                if retry_scheduled {
                    self.counts.retries_scheduled += 1;
                } else {
                    self.counts.dead_lettered += 1;
                }
                Some(Call {
                    failed: retryable,
                    slow,
                })
            }
            Outcome::Skipped => {
                self.counts.skipped += 1;
                None
            }
        };
        if slow && call.is_some() {
            self.counts.slow_calls += 1;
        }
        let Some(call) = call else {
            if was_probe {
                // Nothing was learnt: give the permit to the next held job.
                self.permits_left += 1;
                self.release_held();
            }
            return;
        };
        match self.state {
            BreakerState::Closed => {
                self.window.record(call);
                if self.window.len() >= self.config.minimum_calls.max(1) {
                    let rates = self.window.rates();
                    if let Some(reason) = self.too_unhealthy(&rates) {
                        self.transition(myself, BreakerState::Open, &reason);
                    }
                }
            }
            BreakerState::HalfOpen if was_probe => {
                self.probe_results.record(call);
                if self.probe_results.len() >= self.config.half_open_calls.max(1) {
                    let rates = self.probe_results.rates();
                    match self.too_unhealthy(&rates) {
                        Some(reason) => self.transition(
                            myself,
                            BreakerState::Open,
                            &format!("probes failed: {reason}"),
                        ),
                        None => self.transition(myself, BreakerState::Closed, "probes succeeded"),
                    }
                }
            }
            _ => {}
        }
    }
}
