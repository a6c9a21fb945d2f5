//! How many connections the process holds, against a cap below its file-descriptor limit, so
//! that a flood of connections (from many hosts; one host is capped by [`super::pending`]) ends
//! in refusals instead of `Too many open files` for everything, the database pool included.
//!
//! The last [`Capacity::reserve`] places are kept for what an operator needs during such a
//! flood: a connection admitted into them may only ask for an essential route (health, sign-in,
//! admin: the server is told which) and has a short deadline for it; anything else is answered
//! `503 server_busy` and closed. An address with other connections still waiting for their
//! first request gets no place in the reserve. Past the cap, connections are closed as soon
//! as accepted.
//!
//! A connection holds its [`Slot`] for as long as its socket is open, WebSocket included (the
//! slot lives with the connection's `Wire`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    /// Connections open at most.
    pub max: usize,
    /// Of those, the last ones kept for essential routes.
    pub reserve: usize,
}

impl Capacity {
    /// Descriptors kept for what is not a client connection: the database pools, listeners,
    /// files, outgoing calls to the carrier.
    pub const OTHER_DESCRIPTORS: usize = 256;

    /// A cap below the process's descriptor limit, with a twentieth of it (at least 16) kept
    /// as the reserve.
    pub fn below_descriptor_limit() -> Self {
        let limit = descriptor_limit().unwrap_or(1024);
        let max = limit.saturating_sub(Self::OTHER_DESCRIPTORS).max(64);
        Self {
            max,
            reserve: (max / 20).max(16).min(max / 2),
        }
    }
}

/// The soft limit on open descriptors (`RLIMIT_NOFILE`).
fn descriptor_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0).then(|| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// Where a new connection stands.
pub enum Admission {
    /// Any request.
    Open(Slot),
    /// In the reserve: essential routes only.
    Reserve(Slot),
    /// No place: close it.
    Refused,
}

#[derive(Default)]
pub struct OpenConnections {
    open: AtomicUsize,
}

impl OpenConnections {
    pub fn admit(self: &Arc<Self>, capacity: Capacity) -> Admission {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < capacity.max).then_some(open + 1)
            });
        match taken {
            Err(_) => Admission::Refused,
            Ok(before) => {
                let slot = Slot(Arc::clone(self));
                if before >= capacity.max.saturating_sub(capacity.reserve) {
                    Admission::Reserve(slot)
                } else {
                    Admission::Open(slot)
                }
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One open connection's place, given back when it is dropped.
pub struct Slot(Arc<OpenConnections>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_places_are_the_reserve_and_none_past_the_cap() {
        let open = Arc::new(OpenConnections::default());
        let capacity = Capacity { max: 4, reserve: 2 };
        let a = open.admit(capacity);
        let b = open.admit(capacity);
        let c = open.admit(capacity);
        let d = open.admit(capacity);
        assert!(matches!((&a, &b), (Admission::Open(_), Admission::Open(_))));
        assert!(matches!(
            (&c, &d),
            (Admission::Reserve(_), Admission::Reserve(_))
        ));
        assert!(matches!(open.admit(capacity), Admission::Refused));
        assert_eq!(open.open(), 4);
        drop(a);
        assert!(matches!(open.admit(capacity), Admission::Reserve(_)));
        drop((b, c, d));
        assert_eq!(open.open(), 0);
    }

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        let capacity = Capacity::below_descriptor_limit();
        let limit = descriptor_limit().unwrap();
        assert!(capacity.max < limit || limit <= Capacity::OTHER_DESCRIPTORS + 64);
        assert!(capacity.reserve >= 16 && capacity.reserve < capacity.max);
    }
}
