//! Summarizes finished messages for delivery analytics (see [`crate::db::delivery_summaries`])
//! about once a second, and settled ones every ten seconds, off the sending path. Every node runs it; the store hands each
//! message to one of them.

use std::time::Duration;

use tokio::sync::watch;

use crate::db::DbPool;
use crate::db::delivery_summaries::{self, Pick};

pub const SUMMARIZE_EVERY: Duration = Duration::from_secs(1);

/// How many passes go by between looks for settled messages (see [`Pick::Settled`]).
const SETTLED_EVERY: u32 = 10;

pub fn spawn(pool: DbPool, shutdown: watch::Receiver<bool>) {
    let mut passes = 0u32;
    crate::periodic::spawn_every(SUMMARIZE_EVERY, shutdown, move || {
        let settled_too = passes.is_multiple_of(SETTLED_EVERY);
        passes = passes.wrapping_add(1);
        let pool = pool.clone();
        async move {
            summarize_all(&pool, Pick::Finished).await;
            if settled_too {
                summarize_all(&pool, Pick::Settled).await;
            }
        }
    });
}

/// Summarizes batch after batch until none is left (a backlog after an upgrade goes at once).
async fn summarize_all(pool: &DbPool, pick: Pick) {
    loop {
        match delivery_summaries::summarize(pool, pick).await {
            Ok(done) if done as i64 == delivery_summaries::BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot summarize finished messages");
                return;
            }
        }
    }
}
