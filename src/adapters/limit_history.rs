//! The limiter's `LimitHistory` port on PostgreSQL: SMS send requests are stored messages, so
//! a user's SMS budget is rebuilt from them rather than starting full after a restart.

use std::time::SystemTime;

use belfry_actors::limiter::LimitKey;
use belfry_actors::ports::{LimitHistory, PortFuture, StoreError};

use crate::db::{DbPool, messages};
use crate::limits::policies::SMS;

pub struct PgLimitHistory {
    pool: DbPool,
}

impl PgLimitHistory {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

impl LimitHistory for PgLimitHistory {
    fn recent(
        &self,
        key: &LimitKey,
        policy: &'static str,
        since: SystemTime,
    ) -> PortFuture<'_, Result<Vec<SystemTime>, StoreError>> {
        let user_id = match key {
            LimitKey::User { user_id, .. } if policy == SMS => *user_id,
            _ => return Box::pin(async { Ok(Vec::new()) }),
        };
        Box::pin(async move {
            let sent = messages::sent_by_since(&self.pool, user_id, since.into())
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            Ok(sent.into_iter().map(SystemTime::from).collect())
        })
    }
}
