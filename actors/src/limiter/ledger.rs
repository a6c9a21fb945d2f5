//! What outlives a limiter actor: each live key's buckets and the recent refusals.
//!
//! Each live key has one [`KeyCell`] here, the same one its actor publishes to callers, so
//! nothing is copied after a check. The key's actor takes its cell from here when it starts
//! and removes it when it retires. The ledger is made once when the tree starts and handed to
//! every limiter supervisor it starts, so a supervisor or key actor that restarts continues
//! from where the last one was instead of granting a fresh budget. It is also what the abuse
//! view reads, without asking every actor.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

use super::cell::KeyCell;
use super::gcra::Limit;
use crate::ports::LimitKey;

/// How long refusals are remembered for the abuse view.
pub const DENIAL_WINDOW: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct Ledger {
    cells: DashMap<LimitKey, Arc<KeyCell>>,
    denials: Mutex<VecDeque<(Instant, &'static str, LimitKey)>>,
}

/// One key as the abuse view shows it.
#[derive(Debug, Clone)]
pub struct KeyUsage {
    pub key: LimitKey,
    pub policy: &'static str,
    pub limit: Limit,
    /// Requests' worth of the policy's burst in use now.
    pub used: u32,
    pub limited: bool,
}

impl Ledger {
    /// The key's cell: the one a previous actor of the key left, or a new one.
    pub(super) fn cell(&self, key: &LimitKey) -> Arc<KeyCell> {
        if let Some(cell) = self.cells.get(key) {
            return Arc::clone(&cell);
        }
        Arc::clone(&self.cells.entry(key.clone()).or_default())
    }

    /// Drops the key's cell, if it is still `cell`.
    pub(super) fn forget(&self, key: &LimitKey, cell: &Arc<KeyCell>) {
        self.cells.remove_if(key, |_, kept| Arc::ptr_eq(kept, cell));
    }

    pub(super) fn record_denial(&self, policy: &'static str, key: &LimitKey, now: Instant) {
        let mut denials = self.denials.lock().unwrap_or_else(|e| e.into_inner());
        while denials
            .front()
            .is_some_and(|(at, _, _)| now.duration_since(*at) > DENIAL_WINDOW)
        {
            denials.pop_front();
        }
        // Bounded: a flood of refusals keeps the newest.
        if denials.len() >= 100_000 {
            denials.pop_front();
        }
        denials.push_back((now, policy, key.clone()));
    }

    /// Refusals in the last hour by policy, and the keys refused.
    pub fn denials(&self, now: Instant) -> Vec<(&'static str, LimitKey)> {
        let denials = self.denials.lock().unwrap_or_else(|e| e.into_inner());
        denials
            .iter()
            .filter(|(at, _, _)| now.duration_since(*at) <= DENIAL_WINDOW)
            .map(|(_, policy, key)| (*policy, key.clone()))
            .collect()
    }

    /// Every live key's use of every policy.
    pub fn usage(&self, now: Instant) -> Vec<KeyUsage> {
        let mut usage = Vec::new();
        for entry in self.cells.iter() {
            for (name, (policy, bucket)) in entry.value().snapshot() {
                usage.push(KeyUsage {
                    key: entry.key().clone(),
                    policy: name,
                    limit: policy.limit,
                    used: bucket.used(&policy.limit, now),
                    limited: bucket.is_limited(&policy.limit, now),
                });
            }
        }
        usage
    }

    /// Keys held: bounded by the keys active within their policies' windows.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}
