//! Dead letters: recipients Belfry gave up on, with every attempt, kept for review.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::dead_letters;
use super::{DbError, DbPool, get};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dead_letters)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterRow {
    pub id: i64,
    pub church_id: i64,
    pub message_id: i64,
    pub recipient_id: i64,
    pub phone: String,
    pub reason: String,
    pub attempts: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub struct NewDeadLetter<'a> {
    pub church_id: i64,
    pub message_id: i64,
    pub recipient_id: i64,
    pub phone: &'a str,
    pub reason: &'a str,
    pub attempts: serde_json::Value,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    letter: NewDeadLetter<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(dead_letters::table)
        .values((
            dead_letters::church_id.eq(letter.church_id),
            dead_letters::message_id.eq(letter.message_id),
            dead_letters::recipient_id.eq(letter.recipient_id),
            dead_letters::phone.eq(letter.phone),
            dead_letters::reason.eq(letter.reason),
            dead_letters::attempts.eq(letter.attempts),
        ))
        .on_conflict(dead_letters::recipient_id)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Newest first.
pub async fn list(
    pool: &DbPool,
    church_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<DeadLetterRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(dead_letters::table
        .filter(dead_letters::church_id.eq(church_id))
        .order((dead_letters::created_at.desc(), dead_letters::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(DeadLetterRow::as_select())
        .load(&mut conn)
        .await?)
}
