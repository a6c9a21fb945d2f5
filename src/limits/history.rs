//! The limiter's `LimitHistory` port on PostgreSQL: SMS send requests are stored messages, so
//! a user's SMS budget is rebuilt from them rather than starting full after a restart.

use std::time::SystemTime;

use belfry_actors::limiter::LimitKey;
use belfry_actors::ports::{LimitHistory, PortFuture, StoreError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::policies::SMS;
use crate::db::schema::messages;
use crate::db::{DbPool, get};

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
            let error = |e: &dyn std::fmt::Display| StoreError(e.to_string());
            let mut conn = get(&self.pool).await.map_err(|e| error(&e))?;
            let since: DateTime<Utc> = since.into();
            let sent: Vec<DateTime<Utc>> = messages::table
                .filter(messages::sender_id.eq(user_id))
                .filter(messages::created_at.ge(since))
                .order(messages::created_at.asc())
                .select(messages::created_at)
                .load(&mut conn)
                .await
                .map_err(|e| error(&e))?;
            Ok(sent.into_iter().map(SystemTime::from).collect())
        })
    }
}
