//! How a notification's email or text that could not go for now is tried again: after 30 s,
//! doubling up to an hour between tries, and given up after [`ATTEMPTS`] tries. Both couriers
//! follow it, so a flaky mail server and a flaky carrier cost people the same.

use chrono::{DateTime, TimeDelta, Utc};

pub const RETRY_FIRST: TimeDelta = TimeDelta::seconds(30);
pub const RETRY_MOST: TimeDelta = TimeDelta::hours(1);
pub const ATTEMPTS: i32 = 10;

/// When to try again after a failed try, `attempts` tries having been made before it; `None`
/// when that try was the last.
pub fn retry_at(attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempts + 1 >= ATTEMPTS {
        return None;
    }
    let wait = RETRY_FIRST * 2i32.pow(attempts.clamp(0, 16) as u32);
    Some(now + wait.min(RETRY_MOST))
}

/// Why a delivery failed after its last try.
pub fn gave_up(why: &str) -> String {
    format!("gave up after {ATTEMPTS} tries: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_back_off_doubling_then_stop() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let wait = |attempts| retry_at(attempts, now).map(|at| at - now);
        assert_eq!(wait(0), Some(TimeDelta::seconds(30)));
        assert_eq!(wait(1), Some(TimeDelta::seconds(60)));
        assert_eq!(wait(6), Some(TimeDelta::seconds(1920)));
        assert_eq!(wait(7), Some(RETRY_MOST));
        assert_eq!(wait(ATTEMPTS - 1), None);
    }
}
