//! Summarizes finished messages for delivery analytics (see [`crate::db::delivery_summaries`])
//! about once a second, and settled ones every ten seconds, off the sending path, and tells
//! the senders of finished broadcasts. Every node runs it; the store hands each message to one
//! of them.

use std::sync::Arc;
use std::time::Duration;

use belfry_actors::Directory;
use tokio::sync::watch;

use crate::clock::{Clock, SharedClock};
use crate::db::DbPool;
use crate::db::delivery_summaries::{self, Pick};
use crate::telemetry::Metrics;

pub const SUMMARIZE_EVERY: Duration = Duration::from_secs(1);

/// How many passes go by between looks for settled messages (see [`Pick::Settled`]).
const SETTLED_EVERY: u32 = 10;

pub fn spawn(
    (pool, directory, metrics): (DbPool, Arc<Directory>, Arc<Metrics>),
    clock: SharedClock,
    shutdown: watch::Receiver<bool>,
) {
    let mut passes = 0u32;
    crate::periodic::spawn_every(SUMMARIZE_EVERY, shutdown, move || {
        let settled_too = passes.is_multiple_of(SETTLED_EVERY);
        passes = passes.wrapping_add(1);
        let (pool, directory, metrics, clock) = (
            pool.clone(),
            Arc::clone(&directory),
            Arc::clone(&metrics),
            Arc::clone(&clock),
        );
        async move {
            let on = (&pool, directory.as_ref(), metrics.as_ref());
            summarize_all(on, clock.as_ref(), Pick::Finished).await;
            if settled_too {
                summarize_all(on, clock.as_ref(), Pick::Settled).await;
            }
        }
    });
}

/// Summarizes batch after batch until none is left (a backlog after an upgrade goes at once),
/// and tells the senders of finished broadcasts once each batch is committed.
async fn summarize_all(
    (pool, directory, metrics): (&DbPool, &Directory, &Metrics),
    clock: &dyn Clock,
    pick: Pick,
) {
    loop {
        let notice = crate::notices::broadcast_finished;
        match delivery_summaries::summarize(pool, pick, notice, clock.now()).await {
            Ok(done) => {
                let full = done.messages as i64 == delivery_summaries::BATCH;
                metrics.notifications_stored(&done.notices);
                directory.announce(done.notices);
                if !full {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot summarize finished messages");
                return;
            }
        }
    }
}
