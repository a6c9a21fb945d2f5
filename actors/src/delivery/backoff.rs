//! Exponential backoff with full jitter: each wait is uniform in `[0, min(max, base·factorⁿ)]`,
//! which spreads retries of many recipients instead of sending them back in waves.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub factor: f64,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after the `failed_attempts`-th failure (1-based).
    pub fn ceiling(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(30) as i32;
        let secs = self.base.as_secs_f64() * self.factor.powi(exponent);
        Duration::from_secs_f64(secs.min(self.max.as_secs_f64()))
    }

    /// A random wait in `[0, ceiling]`.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let ceiling = self.ceiling(failed_attempts);
        if ceiling.is_zero() {
            return ceiling;
        }
        rand::rng().random_range(Duration::ZERO..=ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_by_factor_and_stops_at_max() {
        let b = Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(5),
        };
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(4), Duration::from_secs(5));
    }

    #[test]
    fn delay_stays_within_ceiling() {
        let b = Backoff::default();
        for attempt in 1..6 {
            for _ in 0..100 {
                assert!(b.delay(attempt) <= b.ceiling(attempt));
            }
        }
    }
}
