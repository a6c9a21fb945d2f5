//! Dead letters: recipients Belfry gave up on, with every attempt, kept for review.

use belfry_actors::ports::DeadLetter;
use belfry_actors::status::RecipientStatus;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::messages::{Applied, finish};
use super::outbox;
use super::schema::dead_letters;
use super::{DbError, DbPool, get};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
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
    pub resolution: Option<String>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    pub resolved_by: Option<i64>,
    pub resolution_note: Option<String>,
}

pub struct NewDeadLetter<'a> {
    pub message_id: i64,
    pub recipient_id: i64,
    pub phone: &'a str,
    pub reason: &'a str,
    pub attempts: serde_json::Value,
}

/// Gives a recipient up: `failed` with the letter's reason, its last attempt recorded, and a
/// dead letter holding every attempt, in one transaction. `None` if it was already final.
pub async fn dead_letter_recipient(
    pool: &DbPool,
    letter: &DeadLetter,
) -> Result<Option<Applied>, DbError> {
    let mut conn = get(pool).await?;
    let applied = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let reason = &letter.reason;
            let failed = RecipientStatus::Failed;
            let Some(applied) = finish(conn, letter.recipient_id, failed, reason).await? else {
                return Ok(None);
            };
            if let Some(last) = &letter.last_attempt {
                outbox::record_attempt(conn, letter.recipient_id, last).await?;
            }
            let attempts = outbox::attempts_of(conn, letter.recipient_id).await?;
            insert(
                conn,
                NewDeadLetter {
                    message_id: applied.message_id,
                    recipient_id: letter.recipient_id,
                    phone: &applied.phone,
                    reason: &letter.reason,
                    attempts: serde_json::to_value(&attempts).unwrap_or_default(),
                },
            )
            .await?;
            Ok(Some(applied))
        })
        .await?;
    Ok(applied)
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    letter: NewDeadLetter<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(dead_letters::table)
        .values((
            dead_letters::church_id.eq(super::schema::messages::table
                .find(letter.message_id)
                .select(super::schema::messages::church_id)
                .single_value()
                .assume_not_null()),
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

/// Which dead letters a list or a redrive is about.
#[derive(Debug, Default, Clone)]
pub struct DlqFilter {
    pub reason_contains: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub message_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlqState {
    /// Not yet reviewed.
    Open,
    Retried,
    Discarded,
    All,
}

type Boxed<'a> = dead_letters::BoxedQuery<'a, diesel::pg::Pg>;

/// `church`: one church's dead letters, or with `None` every church's (operators').
pub(super) fn filtered<'a>(
    church: Option<i64>,
    filter: &'a DlqFilter,
    state: DlqState,
) -> Boxed<'a> {
    use dead_letters::dsl as d;
    let mut query = d::dead_letters.into_boxed();
    if let Some(church_id) = church {
        query = query.filter(d::church_id.eq(church_id));
    }
    if let Some(text) = &filter.reason_contains {
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(d::reason.ilike(pattern));
    }
    if let Some(since) = filter.since {
        query = query.filter(d::created_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(d::created_at.lt(until));
    }
    if let Some(message_id) = filter.message_id {
        query = query.filter(d::message_id.eq(message_id));
    }
    match state {
        DlqState::Open => query.filter(d::resolution.is_null()),
        DlqState::Retried => query.filter(d::resolution.eq("retried")),
        DlqState::Discarded => query.filter(d::resolution.eq("discarded")),
        DlqState::All => query,
    }
}

/// One page, newest first, and how many match in all.
pub async fn list(
    pool: &DbPool,
    church: Option<i64>,
    filter: &DlqFilter,
    state: DlqState,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeadLetterRow>, i64), DbError> {
    let mut conn = get(pool).await?;
    let total: i64 = filtered(church, filter, state)
        .count()
        .get_result(&mut conn)
        .await?;
    let items = filtered(church, filter, state)
        .order((dead_letters::created_at.desc(), dead_letters::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(DeadLetterRow::as_select())
        .load(&mut conn)
        .await?;
    Ok((items, total))
}

/// Marks one open dead letter discarded. `None` if there is no such open entry.
pub async fn discard(
    pool: &DbPool,
    church: Option<i64>,
    id: i64,
    user_id: i64,
    note: &str,
) -> Result<Option<DeadLetterRow>, DbError> {
    use dead_letters::dsl as d;
    let mut conn = get(pool).await?;
    let every = DlqFilter::default();
    let entry = filtered(church, &every, DlqState::Open)
        .filter(d::id.eq(id))
        .select(d::id);
    // Still open when updated: a concurrent redrive or discard cannot take it as well.
    let target = d::dead_letters
        .filter(d::id.eq_any(entry))
        .filter(d::resolution.is_null());
    Ok(diesel::update(target)
        .set((
            d::resolution.eq("discarded"),
            d::resolved_at.eq(chrono::Utc::now()),
            d::resolved_by.eq(user_id),
            d::resolution_note.eq(note),
        ))
        .returning(DeadLetterRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?)
}

/// Dead letters nobody has retried or discarded yet, in every church.
pub async fn open_count(pool: &DbPool) -> Result<i64, DbError> {
    let mut conn = get(pool).await?;
    Ok(dead_letters::table
        .filter(dead_letters::resolution.is_null())
        .count()
        .get_result(&mut conn)
        .await?)
}
