//! Churches whose sending waits: paused by their admins, or inside their quiet hours (which
//! hold every job but an urgent one). A held job waits exactly as an open breaker holds
//! everyone's: no new carrier call starts for it (checked by the breaker when it admits a job
//! and by the worker right before its call), held jobs wait in order, and they go out in that
//! order when the hold ends. Other churches are not touched.
//!
//! The sets live in the directory, not in the breaker, so that a restarted breaker still knows
//! them; the database is where they are kept (the outbox does not claim held work), and the
//! server copies them here at start-up and whenever they change, on this node or another.

use std::collections::HashSet;
use std::sync::RwLock;

/// Why a church's sending waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Its admins paused it: nothing goes.
    Paused,
    /// Its quiet hours: only urgent messages go.
    QuietHours,
}

#[derive(Debug, Default)]
pub struct ChurchHolds {
    paused: RwLock<HashSet<i64>>,
    quiet: RwLock<HashSet<i64>>,
}

impl ChurchHolds {
    fn set_of(&self, hold: Hold) -> &RwLock<HashSet<i64>> {
        match hold {
            Hold::Paused => &self.paused,
            Hold::QuietHours => &self.quiet,
        }
    }

    /// Starts or ends a hold on a church; true if that changed anything.
    pub fn set(&self, hold: Hold, church_id: i64, on: bool) -> bool {
        let mut set = self.set_of(hold).write().unwrap_or_else(|e| e.into_inner());
        if on {
            set.insert(church_id)
        } else {
            set.remove(&church_id)
        }
    }

    /// The churches under this hold now.
    pub fn churches(&self, hold: Hold) -> Vec<i64> {
        let set = self.set_of(hold).read().unwrap_or_else(|e| e.into_inner());
        set.iter().copied().collect()
    }

    pub fn is_on(&self, hold: Hold, church_id: i64) -> bool {
        let set = self.set_of(hold).read().unwrap_or_else(|e| e.into_inner());
        // Most of the time no church is held: one read, no hashing.
        !set.is_empty() && set.contains(&church_id)
    }

    /// Whether a job of this church must wait now.
    pub fn holds(&self, church_id: i64, urgent: bool) -> bool {
        self.is_on(Hold::Paused, church_id) || (!urgent && self.is_on(Hold::QuietHours, church_id))
    }
}

#[cfg(test)]
mod tests {
    use super::{ChurchHolds, Hold};

    #[test]
    fn pausing_holds_only_that_church() {
        let holds = ChurchHolds::default();
        assert!(!holds.is_on(Hold::Paused, 1));
        assert!(holds.set(Hold::Paused, 1, true));
        assert!(!holds.set(Hold::Paused, 1, true), "already paused");
        assert!(
            holds.holds(1, false) && holds.holds(1, true),
            "urgent or not"
        );
        assert!(!holds.holds(2, false));
        assert_eq!(holds.churches(Hold::Paused), vec![1]);
        assert!(holds.set(Hold::Paused, 1, false));
        assert!(!holds.holds(1, false));
    }

    #[test]
    fn quiet_hours_hold_all_but_urgent_jobs() {
        let holds = ChurchHolds::default();
        assert!(holds.set(Hold::QuietHours, 1, true));
        assert!(holds.holds(1, false));
        assert!(!holds.holds(1, true), "urgent goes");
        assert!(!holds.holds(2, false));
        assert!(holds.churches(Hold::Paused).is_empty());
        assert!(holds.set(Hold::QuietHours, 1, false));
        assert!(!holds.holds(1, false));
    }
}
