//! When a socket's server pings start. Every socket is pinged at the same interval, but
//! sockets opened together (everyone reconnecting after a restart) must not ping together for
//! ever after.

use std::time::Duration;

/// A random point in the second half of the first interval: sockets opened together (everyone
/// reconnecting after a restart) would otherwise ping together, every interval, for ever.
pub(super) fn first_ping_after(interval: Duration) -> Duration {
    interval.mul_f64(rand::random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pings_are_spread_over_the_second_half_of_the_interval() {
        let interval = Duration::from_secs(20);
        let firsts: Vec<Duration> = (0..200).map(|_| first_ping_after(interval)).collect();
        assert!(firsts.iter().all(|d| *d >= interval / 2 && *d <= interval));
        let (earliest, latest) = (firsts.iter().min().unwrap(), firsts.iter().max().unwrap());
        assert!(
            latest.saturating_sub(*earliest) > interval / 4,
            "{earliest:?}..{latest:?}"
        );
    }
}
