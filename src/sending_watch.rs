//! Keeps this node's church holds equal to the store's: a church paused or resumed through
//! another node (or while this one restarted) is held or released here within about
//! [`WATCH_EVERY`]. The node that took the change applies it at once; this catches the rest.

use std::sync::Arc;
use std::time::Duration;

use belfry_actors::Directory;
use tokio::sync::watch;

use crate::db::{DbPool, churches};

/// How often the store is asked which churches are paused (one indexed read).
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(directory: Arc<Directory>, pool: DbPool, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stopping = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = tick.tick() => match churches::paused(&pool).await {
                    Ok(paused) => {
                        for (church, paused) in directory.sync_sending_paused(&paused) {
                            tracing::info!(church, paused, "church sending changed elsewhere");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read which churches are paused"),
                },
                _ = &mut stopping => return,
            }
        }
    });
}
