//! Churches whose admins paused their own sending. A paused church's jobs are held exactly as
//! an open breaker holds everyone's: no new carrier call starts for them (checked by the breaker
//! when it admits a job and by the worker right before its call), they wait in order, and they
//! go out in that order when the church resumes. Other churches are not touched.
//!
//! The set lives in the directory, not in the breaker, so that a restarted breaker still knows
//! it; the database is where it is kept (the outbox does not claim a paused church's work), and
//! the server copies it here at start-up and whenever it changes, on this node or another.

use std::collections::HashSet;
use std::sync::RwLock;

#[derive(Debug, Default)]
pub struct ChurchHolds {
    paused: RwLock<HashSet<i64>>,
}

impl ChurchHolds {
    /// Pauses or resumes a church; true if that changed anything.
    pub fn set(&self, church_id: i64, paused: bool) -> bool {
        let mut set = self.paused.write().unwrap_or_else(|e| e.into_inner());
        if paused {
            set.insert(church_id)
        } else {
            set.remove(&church_id)
        }
    }

    /// The churches paused now.
    pub fn paused(&self) -> Vec<i64> {
        let set = self.paused.read().unwrap_or_else(|e| e.into_inner());
        set.iter().copied().collect()
    }

    pub fn is_paused(&self, church_id: i64) -> bool {
        let set = self.paused.read().unwrap_or_else(|e| e.into_inner());
        // Most of the time no church is paused: one read, no hashing.
        !set.is_empty() && set.contains(&church_id)
    }
}

#[cfg(test)]
mod tests {
    use super::ChurchHolds;

    #[test]
    fn pausing_holds_only_that_church() {
        let holds = ChurchHolds::default();
        assert!(!holds.is_paused(1));
        assert!(holds.set(1, true));
        assert!(!holds.set(1, true), "already paused");
        assert!(holds.is_paused(1) && !holds.is_paused(2));
        assert_eq!(holds.paused(), vec![1]);
        assert!(holds.set(1, false));
        assert!(!holds.is_paused(1));
    }
}
