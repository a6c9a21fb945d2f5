//! A church's messages, newest first, a page at a time.
//!
//! The cursor is the last row's `(created_at, id)`: a page does not shift when new messages
//! arrive, and every page, however deep, is one range scan of `messages_church_history` (an
//! offset would read and throw away every row before the page).

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamptz};
use diesel_async::RunQueryDsl;

pub use super::cursor::Cursor;
use super::messages::MessageRow;
use super::schema::messages;
use super::{DbError, DbPool, get};

/// Which messages a page holds.
#[derive(Debug, Default)]
pub struct HistoryFilter {
    pub status: Option<String>,
    /// From this instant on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
}

pub async fn page(
    pool: &DbPool,
    church_id: i64,
    filter: &HistoryFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<MessageRow>, DbError> {
    let mut conn = get(pool).await?;
    let mut query = messages::table
        .filter(messages::church_id.eq(church_id))
        .order((messages::created_at.desc(), messages::id.desc()))
        .limit(limit)
        .select(MessageRow::as_select())
        .into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(messages::status.eq(status.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(messages::created_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(messages::created_at.lt(until));
    }
    if let Some(cursor) = after {
        // A row comparison, which the index serves as one range.
        query = query.filter(
            sql::<Bool>("(messages.created_at, messages.id) < (")
                .bind::<Timestamptz, _>(cursor.at)
                .sql(", ")
                .bind::<BigInt, _>(cursor.id)
                .sql(")"),
        );
    }
    Ok(query.load(&mut conn).await?)
}
