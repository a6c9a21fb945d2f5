//! Summarizes finished messages for delivery analytics (see [`crate::db::delivery_summaries`])
//! about once a second, off the sending path. Every node runs it; the store hands each
//! message to one of them.

use std::time::Duration;

use tokio::sync::watch;

use crate::db::{DbPool, delivery_summaries};

pub const SUMMARIZE_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(pool: DbPool, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SUMMARIZE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stopping = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = tick.tick() => summarize_all(&pool).await,
                _ = &mut stopping => return,
            }
        }
    });
}

/// Summarizes batch after batch until none is left (a backlog after an upgrade goes at once).
async fn summarize_all(pool: &DbPool) {
    loop {
        match delivery_summaries::summarize_finished(pool).await {
            Ok(done) if done as i64 == delivery_summaries::BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot summarize finished messages");
                return;
            }
        }
    }
}
