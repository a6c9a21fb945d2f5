//! A key's buckets where callers can reach them: the check runs in the caller's own task,
//! under a short lock, instead of being a message to the key's actor and back. A check is a
//! few arithmetic steps; the message round trip and the two task wake-ups cost ten times
//! that, and they sat in front of every authenticated request.
//!
//! The key's actor still owns the cell's life: it is made when the actor starts (or taken
//! over from the ledger after a restart), filled with a policy's first bucket by the actor
//! (which may have to rebuild it from the store), and closed when the actor retires, so a
//! caller holding it then learns to go to the actor's successor rather than count into a
//! cell nobody keeps.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

use super::gcra::{Bucket, Decision, Policy};

/// A key's buckets, by policy name.
pub type Buckets = HashMap<&'static str, (Policy, Bucket)>;

#[derive(Default)]
pub struct KeyCell {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    buckets: Buckets,
    /// Set by the retiring actor: the cell is no longer the key's.
    closed: bool,
}

/// What a caller's check found.
#[derive(Debug, PartialEq, Eq)]
pub enum CellCheck {
    Decided(Decision),
    /// The key has no bucket for this policy yet: its actor makes the first one.
    NoBucket,
    /// The key's actor retired; its successor has a cell of its own.
    Closed,
}

impl KeyCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic under this lock leaves plain numbers behind, still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `cost` requests against `policy` if the key already has its bucket.
    pub fn check(&self, policy: Policy, cost: u32, now: Instant) -> CellCheck {
        let mut inner = self.lock();
        if inner.closed {
            return CellCheck::Closed;
        }
        match inner.buckets.get_mut(policy.name) {
            Some((kept, bucket)) => {
                // The configuration is the caller's: a changed limit applies at once.
                *kept = policy;
                CellCheck::Decided(bucket.check(&policy, cost, now))
            }
            None => CellCheck::NoBucket,
        }
    }

    /// Adds a policy's first bucket, unless one was added meanwhile, then counts the request.
    pub fn check_with(&self, policy: Policy, first: Bucket, cost: u32, now: Instant) -> Decision {
        let mut inner = self.lock();
        let (kept, bucket) = inner.buckets.entry(policy.name).or_insert((policy, first));
        *kept = policy;
        bucket.check(&policy, cost, now)
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn has_bucket(&self, policy: &'static str) -> bool {
        self.lock().buckets.contains_key(policy)
    }

    /// When every bucket can be forgotten.
    pub fn forgettable_at(&self, now: Instant) -> Instant {
        self.lock()
            .buckets
            .values()
            .map(|(policy, bucket)| bucket.forgettable_at(policy))
            .max()
            .unwrap_or(now)
    }

    /// Closes the cell if forgetting it loses nothing; checks that come later are turned
    /// away, so none is counted into a forgotten cell.
    pub fn close_if_forgettable(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        let full = inner
            .buckets
            .values()
            .all(|(policy, bucket)| bucket.forgettable_at(policy) <= now);
        if full {
            inner.closed = true;
        }
        full
    }

    /// A copy of every bucket (for the abuse view).
    pub fn snapshot(&self) -> Buckets {
        self.lock().buckets.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limiter::Limit;

    fn policy() -> Policy {
        Policy::new("api", Limit::new(2, Duration::from_secs(2), 2))
    }

    #[test]
    fn a_check_needs_the_first_bucket_from_the_actor_then_counts_on_its_own() {
        let cell = KeyCell::default();
        let now = Instant::now();
        assert_eq!(cell.check(policy(), 1, now), CellCheck::NoBucket);
        assert!(cell.check_with(policy(), Bucket::new(now), 1, now).allowed);
        match cell.check(policy(), 1, now) {
            CellCheck::Decided(d) => assert!(d.allowed && d.remaining == 0),
            other => panic!("expected a decision, got {other:?}"),
        }
        match cell.check(policy(), 1, now) {
            CellCheck::Decided(d) => assert!(!d.allowed),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_cell_closes_only_once_full_and_then_turns_checks_away() {
        let cell = KeyCell::default();
        let now = Instant::now();
        cell.check_with(policy(), Bucket::new(now), 1, now);
        assert!(!cell.close_if_forgettable(now), "one request still counts");
        let later = now + Duration::from_secs(1);
        assert_eq!(cell.forgettable_at(now), later);
        assert!(cell.close_if_forgettable(later));
        assert_eq!(cell.check(policy(), 1, later), CellCheck::Closed);
    }
}
