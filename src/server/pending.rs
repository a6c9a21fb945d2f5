//! Connections that have not finished a request yet, counted per client address, so that one
//! host holding thousands of connections open without a request (idle, or a byte at a time)
//! cannot take every descriptor the process has: past the cap, its new connections are closed
//! as soon as they are accepted. A connection stops counting at its first request.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;

#[derive(Default)]
pub struct PendingByAddress {
    counts: DashMap<IpAddr, usize>,
}

impl PendingByAddress {
    /// Counts a new connection from `ip`; `None` when `ip` has `cap` pending already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Pending> {
        let mut count = self.counts.entry(ip).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Pending {
            by_address: Arc::clone(self),
            ip,
            done: AtomicBool::new(false),
        })
    }

    fn release(&self, ip: IpAddr) {
        let now_zero = match self.counts.get_mut(&ip) {
            Some(mut count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if now_zero {
            self.counts.remove_if(&ip, |_, count| *count == 0);
        }
    }

    /// How many of `ip`'s connections wait for their first request.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.counts.get(&ip).map(|c| *c).unwrap_or(0)
    }
}

/// One connection counted as pending until it is [`Pending::finish`]ed or dropped.
pub struct Pending {
    by_address: Arc<PendingByAddress>,
    ip: IpAddr,
    done: AtomicBool,
}

impl Pending {
    /// Its first request arrived: it stops counting (once, however often this is called).
    pub fn finish(&self) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.by_address.release(self.ip);
        }
    }

    pub fn finished(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_at_its_cap_is_refused_until_one_of_its_connections_makes_a_request() {
        let pending = Arc::new(PendingByAddress::default());
        let ip: IpAddr = [127, 0, 0, 2].into();
        let first = pending.admit(ip, 2).unwrap();
        let second = pending.admit(ip, 2).unwrap();
        assert!(pending.admit(ip, 2).is_none());
        assert!(
            pending.admit([127, 0, 0, 1].into(), 2).is_some(),
            "others are not affected"
        );
        first.finish();
        first.finish();
        assert_eq!(pending.count(ip), 1);
        let third = pending.admit(ip, 2).unwrap();
        drop(second);
        drop(third);
        drop(first);
        assert_eq!(pending.count(ip), 0);
    }
}
