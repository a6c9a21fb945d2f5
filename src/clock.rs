//! The time quiet hours are decided by, as a port. The product reads the system clock; tests
//! bring their own to put the server at a chosen moment, such as the minutes around a
//! daylight-saving change in a church's zone.
//!
//! Everything about quiet hours asks it: whether a send is held and until when, the stretch
//! stored for a church and when it rolls on, which churches are quiet now, and the outbox's
//! test of whether a due recipient is held. When a recipient is due stays the store's own
//! business (`next_attempt_at` against the database's clock): the outbox turns that into this
//! clock's time before comparing it with quiet hours (see `db::outbox`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}
