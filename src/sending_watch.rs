//! Keeps this node's church holds equal to the store's: a church paused or resumed through
//! another node (or while this one restarted) is held or released here within about
//! [`WATCH_EVERY`], and so is a church whose quiet hours begin or end. The node that took a
//! pause applies it at once; this catches the rest.
//!
//! It also moves each church's stored quiet-hours stretch to the next one when it ends, as
//! [`crate::domain::QuietHours`] works it out. Every node does it; the store takes the first.

use std::sync::Arc;
use std::time::Duration;

use belfry_actors::{Directory, Hold};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock::{Clock, SharedClock};
use crate::db::{DbError, DbPool, churches, quiet_hours};

/// How often the store is asked which churches are held (two indexed reads).
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(
    directory: Arc<Directory>,
    pool: DbPool,
    clock: SharedClock,
    shutdown: watch::Receiver<bool>,
) {
    crate::periodic::spawn_every(WATCH_EVERY, shutdown, move || {
        let (directory, pool, clock) = (directory.clone(), pool.clone(), clock.clone());
        async move {
            if let Err(e) = sync_once(&directory, &pool, clock.as_ref()).await {
                tracing::warn!(error = %e, "cannot read which churches are held");
            }
        }
    });
}

/// Rolls ended quiet-hours stretches forward, then makes the holds what the store says.
pub async fn sync_once(
    directory: &Directory,
    pool: &DbPool,
    clock: &dyn Clock,
) -> Result<(), DbError> {
    let now = clock.now();
    roll_quiet_hours(pool, now).await?;
    let paused = churches::paused(pool).await?;
    for (church, paused) in directory.sync_holds(Hold::Paused, &paused) {
        tracing::info!(church, paused, "church sending changed elsewhere");
    }
    let quiet = quiet_hours::quiet_at(pool, now).await?;
    for (church, quiet) in directory.sync_holds(Hold::QuietHours, &quiet) {
        tracing::info!(church, quiet, "church quiet hours");
    }
    Ok(())
}

async fn roll_quiet_hours(pool: &DbPool, now: DateTime<Utc>) -> Result<(), DbError> {
    for church in quiet_hours::needing_window(pool, now).await? {
        let Some(hours) = church.hours() else {
            tracing::warn!(
                church = church.id,
                "quiet hours stored unreadable; left as they are"
            );
            continue;
        };
        quiet_hours::roll(pool, &church, hours.window(now)).await?;
    }
    Ok(())
}
