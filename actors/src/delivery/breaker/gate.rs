//! The breaker's permission, taken by each sender worker right before it calls the carrier.
//!
//! The breaker decides which jobs go to the workers, but a job may wait in the pool's queue and
//! for its pacing slot long after that: deciding at dispatch let every job already handed out
//! be called after the breaker opened. So, as resilience4j does, permission is taken per call:
//! once the breaker opens, no new call starts, and a worker holding a job hands it back to be
//! held. When half-open, only the jobs the breaker chose as probes may call.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use super::BreakerState;

const ALL: u8 = 0;
const PROBES_ONLY: u8 = 1;
const NONE: u8 = 2;

#[derive(Debug)]
pub struct Gate {
    mode: AtomicU8,
    /// The jobs that may call while half-open, by recipient.
    probes: Mutex<HashSet<i64>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            mode: AtomicU8::new(ALL),
            probes: Mutex::new(HashSet::new()),
        }
    }
}

impl Gate {
    /// Follows the breaker's state.
    pub fn follow(&self, state: BreakerState) {
        let mode = match state {
            BreakerState::Closed | BreakerState::Disabled => ALL,
            BreakerState::HalfOpen => PROBES_ONLY,
            BreakerState::Open | BreakerState::ForcedOpen => NONE,
        };
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// Whether the worker holding this recipient's job may call the carrier now.
    pub fn permits(&self, recipient_id: i64) -> bool {
        match self.mode.load(Ordering::SeqCst) {
            ALL => true,
            PROBES_ONLY => self.probes().contains(&recipient_id),
            _ => false,
        }
    }

    pub(super) fn add_probe(&self, recipient_id: i64) {
        self.probes().insert(recipient_id);
    }

    /// `true` if the recipient was a probe.
    pub(super) fn remove_probe(&self, recipient_id: i64) -> bool {
        self.probes().remove(&recipient_id)
    }

    pub(super) fn clear_probes(&self) {
        self.probes().clear();
    }

    pub(super) fn probes_in_flight(&self) -> usize {
        self.probes().len()
    }

    fn probes(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.probes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_permits_nothing_half_open_only_probes_closed_everything() {
        let gate = Gate::default();
        assert!(gate.permits(1));
        gate.follow(BreakerState::Open);
        assert!(!gate.permits(1));
        gate.follow(BreakerState::HalfOpen);
        gate.add_probe(2);
        assert!(!gate.permits(1));
        assert!(gate.permits(2));
        assert!(gate.remove_probe(2));
        assert!(!gate.permits(2));
        gate.follow(BreakerState::ForcedOpen);
        assert!(!gate.permits(1));
        gate.follow(BreakerState::Disabled);
        assert!(gate.permits(1));
    }
}
