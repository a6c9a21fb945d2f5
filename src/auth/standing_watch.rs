//! Watches the store for users whose standing changed, on any node or from the command line,
//! and enforces it here: what this process remembers of them is forgotten, and their open
//! sockets that it no longer allows are closed (`4003`) within about [`WATCH_EVERY`].

use std::time::Duration;

use tokio::sync::watch;

use super::Authenticator;
use crate::db::{DbPool, users};

/// How often the store is asked what changed.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Changes are looked for this far before the last one seen, so that one committed late with an
/// earlier time is not missed; users found again are only checked again.
const OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// How often signed-out tokens that have expired anyway are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(600);

pub fn spawn(auth: Authenticator, pool: DbPool, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut since = loop {
            match users::database_now(&pool).await {
                Ok(now) => break now,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start watching accounts; trying again");
                    tokio::time::sleep(WATCH_EVERY).await;
                }
            }
        };
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut purge = tokio::time::interval(PURGE_EVERY);
        let stopping = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Some(latest) = check(&auth, &pool, since).await {
                        since = since.max(latest);
                    }
                }
                _ = purge.tick() => {
                    if let Err(e) = users::purge_expired_revocations(&pool).await {
                        tracing::warn!(error = %e, "cannot forget expired sign-outs");
                    }
                }
                _ = &mut stopping => return,
            }
        }
    });
}

/// Applies the changes after `since`; returns the latest change seen.
async fn check(
    auth: &Authenticator,
    pool: &DbPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let changed = match users::standing_changed_since(pool, since - OVERLAP).await {
        Ok(changed) => changed,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read accounts' changes");
            return None;
        }
    };
    let mut latest = None;
    for (user_id, at) in changed {
        latest = latest.max(Some(at));
        match auth.standing_changed(user_id).await {
            Ok(0) => {}
            Ok(closed) => {
                tracing::info!(
                    user_id,
                    sockets = closed,
                    "closed sockets the account no longer allows"
                );
            }
            // Not `latest`: what was not applied is looked at again on the next tick.
            Err(_) => return None,
        }
    }
    latest
}
