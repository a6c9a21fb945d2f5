//! A church's messages, newest first, a page at a time.
//!
//! The cursor is the last row's `(created_at, id)`: a page does not shift when new messages
//! arrive, and every page, however deep, is one range scan of `messages_church_history` (an
//! offset would read and throw away every row before the page).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamptz};
use diesel_async::RunQueryDsl;

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

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    created_at: DateTime<Utc>,
    id: i64,
}

impl Cursor {
    pub fn after(row: &MessageRow) -> Self {
        Self {
            created_at: row.created_at,
            id: row.id,
        }
    }

    /// Opaque to clients: base64url of `<microseconds>.<id>`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(text: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let (micros, id) = raw.split_once('.')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
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
                .bind::<Timestamptz, _>(cursor.created_at)
                .sql(", ")
                .bind::<BigInt, _>(cursor.id)
                .sql(")"),
        );
    }
    Ok(query.load(&mut conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "!!", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("1.x")] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }
}
