//! The arithmetic of one limit: GCRA, the generic cell rate algorithm.
//!
//! GCRA is a token bucket written as a single instant, the *theoretical arrival time* (TAT):
//! when the bucket would be full again if nothing else arrived. A request is allowed if, after
//! adding its cost, the TAT is no further ahead of now than the burst allows. One instant per
//! key and policy, no refill timer, exact `remaining` and `reset` figures for the `RateLimit`
//! header, and a history of past requests can be replayed into it to rebuild the state.

use std::time::Duration;

use tokio::time::Instant;

/// `quota` requests per `window`, of which up to `burst` may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub quota: u32,
    pub window: Duration,
    pub burst: u32,
}

impl Limit {
    pub fn new(quota: u32, window: Duration, burst: u32) -> Self {
        Self {
            quota: quota.max(1),
            window: window.max(Duration::from_millis(1)),
            burst: burst.clamp(1, quota.max(1)),
        }
    }

    /// The time one request's allowance takes to come back.
    fn interval(&self) -> Duration {
        self.window / self.quota
    }

    /// How far ahead of now the TAT may run: the whole burst.
    fn capacity(&self) -> Duration {
        self.interval() * self.burst
    }
}

/// Refusals that come back sooner than this after a lock-out grow the next lock-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// The first lock-out; each further one doubles, up to `max`.
    pub base: Duration,
    pub max: Duration,
}

/// A named limit, as it appears in `RateLimit-Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub name: &'static str,
    pub limit: Limit,
    /// Whether a refusal locks the key out for a growing time (logins).
    pub lockout: Option<Lockout>,
}

impl Policy {
    pub fn new(name: &'static str, limit: Limit) -> Self {
        Self {
            name,
            limit,
            lockout: None,
        }
    }

    pub fn with_lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = Some(lockout);
        self
    }
}

/// One key's state under one policy.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tat: Instant,
    locked_until: Option<Instant>,
    /// Lock-outs so far; the next one lasts `base * 2^strikes`.
    strikes: u32,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub policy: &'static str,
    pub limit: Limit,
    pub allowed: bool,
    /// Requests that could be made right now.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// For a refusal: when to try again.
    pub retry_after: Option<Duration>,
}

impl Bucket {
    pub fn new(now: Instant) -> Self {
        Self {
            tat: now,
            locked_until: None,
            strikes: 0,
        }
    }

    /// A bucket that has seen requests at `past` (oldest first), as if it had been counting.
    pub fn replayed(limit: &Limit, past: impl IntoIterator<Item = Instant>, now: Instant) -> Self {
        let mut bucket = Self::new(now);
        bucket.tat = past
            .into_iter()
            .fold(None::<Instant>, |tat, at| {
                Some(tat.map_or(at, |tat| tat.max(at)) + limit.interval())
            })
            .map_or(now, |tat| tat.max(now));
        bucket
    }

    /// Takes `cost` requests' allowance if there is room.
    pub fn check(&mut self, policy: &Policy, cost: u32, now: Instant) -> Decision {
        let limit = policy.limit;
        if let Some(until) = self.locked_until.filter(|until| *until > now) {
            return self.refusal(policy, until - now, now);
        }
        let tat = self.tat.max(now);
        let new_tat = tat + limit.interval() * cost;
        let allowed_from = new_tat.checked_sub(limit.capacity()).unwrap_or(now);
        if allowed_from > now {
            let mut wait = allowed_from - now;
            if let Some(lockout) = policy.lockout {
                let lock = lockout
                    .base
                    .saturating_mul(1 << self.strikes.min(20))
                    .min(lockout.max);
                wait = wait.max(lock);
                self.strikes += 1;
                self.locked_until = Some(now + wait);
            }
            return self.refusal(policy, wait, now);
        }
        self.tat = new_tat;
        Decision {
            policy: policy.name,
            limit,
            allowed: true,
            remaining: self.remaining(&limit, now),
            reset: new_tat - now,
            retry_after: None,
        }
    }

    fn refusal(&self, policy: &Policy, wait: Duration, now: Instant) -> Decision {
        Decision {
            policy: policy.name,
            limit: policy.limit,
            allowed: false,
            remaining: 0,
            reset: self.tat.max(now) - now,
            retry_after: Some(wait),
        }
    }

    fn remaining(&self, limit: &Limit, now: Instant) -> u32 {
        let used = self.tat.saturating_duration_since(now);
        let free = limit.capacity().saturating_sub(used);
        (free.as_nanos() / limit.interval().as_nanos().max(1)) as u32
    }

    /// Whether this key is refused right now (for the abuse view).
    pub fn is_limited(&self, limit: &Limit, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| until > now) || self.remaining(limit, now) == 0
    }

    /// Requests' worth of allowance in use (for the abuse view's top consumers).
    pub fn used(&self, limit: &Limit, now: Instant) -> u32 {
        limit.burst - self.remaining(limit, now)
    }

    /// When forgetting this bucket changes nothing: it is full again, and a lock-out's strikes
    /// have been kept for as long as the longest lock-out.
    pub fn forgettable_at(&self, policy: &Policy) -> Instant {
        let strikes_kept = match (self.locked_until, policy.lockout) {
            (Some(until), Some(lockout)) => until + lockout.max,
            _ => self.tat,
        };
        self.tat.max(strikes_kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(quota: u32, secs: u64, burst: u32) -> Policy {
        Policy::new("test", Limit::new(quota, Duration::from_secs(secs), burst))
    }

    #[test]
    fn a_burst_is_allowed_then_one_request_per_interval() {
        let now = Instant::now();
        let policy = policy(10, 10, 3);
        let mut bucket = Bucket::new(now);
        let remaining: Vec<u32> = (0..3)
            .map(|_| bucket.check(&policy, 1, now))
            .map(|d| {
                assert!(d.allowed);
                d.remaining
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = bucket.check(&policy, 1, now);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(refused.reset, Duration::from_secs(3));
        assert!(
            bucket
                .check(&policy, 1, now + Duration::from_secs(1))
                .allowed
        );
        assert!(bucket.is_limited(&policy.limit, now + Duration::from_secs(1)));
        assert_eq!(bucket.forgettable_at(&policy), now + Duration::from_secs(4));
    }

    #[test]
    fn a_refusal_costs_nothing() {
        let now = Instant::now();
        let policy = policy(2, 2, 2);
        let mut bucket = Bucket::new(now);
        bucket.check(&policy, 2, now);
        for _ in 0..100 {
            assert!(!bucket.check(&policy, 1, now).allowed);
        }
        assert!(
            bucket
                .check(&policy, 1, now + Duration::from_secs(1))
                .allowed
        );
    }

    #[test]
    fn lockouts_double_while_the_key_keeps_offending() {
        let now = Instant::now();
        let lockout = Lockout {
            base: Duration::from_secs(10),
            max: Duration::from_secs(35),
        };
        let policy = policy(2, 2, 2).with_lockout(lockout);
        let mut bucket = Bucket::new(now);
        let mut at = now;
        let mut locks = Vec::new();
        for _ in 0..4 {
            bucket.check(&policy, 2, at);
            let refused = bucket.check(&policy, 1, at);
            let wait = refused.retry_after.unwrap();
            locks.push(wait.as_secs());
            // Locked: even after the bucket refilled, until the lock-out ends.
            assert!(!bucket.check(&policy, 1, at + wait / 2).allowed);
            at += wait;
        }
        assert_eq!(locks, [10, 20, 35, 35]);
        assert_eq!(bucket.forgettable_at(&policy), at + lockout.max);
    }

    #[test]
    fn a_replayed_history_counts_like_the_live_one() {
        let now = Instant::now();
        let policy = policy(4, 4, 4);
        let past = [now, now, now].map(|t| t + Duration::from_millis(0));
        let mut live = Bucket::new(now);
        for at in past {
            live.check(&policy, 1, at);
        }
        let mut replayed = Bucket::replayed(&policy.limit, past, now);
        assert_eq!(replayed.check(&policy, 1, now), live.check(&policy, 1, now));
        // Requests long past leave a full bucket.
        let old = Bucket::replayed(&policy.limit, [now], now + Duration::from_secs(60));
        assert_eq!(old.used(&policy.limit, now + Duration::from_secs(60)), 0);
    }
}
