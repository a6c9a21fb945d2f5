//! Messages and their recipients: reading a send back, and applying one recipient status
//! transition together with the message's running totals.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{message_recipients, messages};
use super::{DbError, DbPool, get};
use crate::domain::RecipientStatus;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = messages)]
#[serde(rename_all = "camelCase")]
pub struct MessageRow {
    pub id: i64,
    #[serde(skip)]
    pub church_id: i64,
    pub sender_id: i64,
    pub body: String,
    pub status: String,
    pub recipient_count: i32,
    pub delivered_count: i32,
    pub failed_count: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = message_recipients)]
#[serde(rename_all = "camelCase")]
pub struct RecipientRow {
    pub id: i64,
    pub member_id: i64,
    pub phone: String,
    pub status: String,
    pub provider_message_id: Option<String>,
    pub attempts: i32,
    pub failure_reason: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub async fn find(
    pool: &DbPool,
    church_id: i64,
    message_id: i64,
) -> Result<Option<(MessageRow, Vec<RecipientRow>)>, DbError> {
    let mut conn = get(pool).await?;
    let message: Option<MessageRow> = messages::table
        .filter(messages::id.eq(message_id))
        .filter(messages::church_id.eq(church_id))
        .select(MessageRow::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let Some(message) = message else {
        return Ok(None);
    };
    let recipients = message_recipients::table
        .filter(message_recipients::message_id.eq(message_id))
        .order(message_recipients::id.asc())
        .select(RecipientRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(Some((message, recipients)))
}

/// Which recipient a report is about.
#[derive(Debug, Clone, Copy)]
pub enum RecipientKey<'a> {
    Id(i64),
    ProviderMessageId(&'a str),
}

type RecipientFilter<'a> = Box<
    dyn BoxableExpression<message_recipients::table, Pg, SqlType = diesel::sql_types::Bool> + 'a,
>;

impl<'a> RecipientKey<'a> {
    fn matches(self) -> RecipientFilter<'a> {
        match self {
            RecipientKey::Id(id) => Box::new(message_recipients::id.eq(id)),
            RecipientKey::ProviderMessageId(pid) => Box::new(
                message_recipients::provider_message_id
                    .eq(pid)
                    .assume_not_null(),
            ),
        }
    }
}

pub struct Transition<'a> {
    pub key: RecipientKey<'a>,
    pub status: RecipientStatus,
    pub provider_message_id: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    /// The outbox has nothing more to do for this recipient.
    pub finishes_outbox: bool,
}

#[derive(AsChangeset)]
#[diesel(table_name = message_recipients)]
struct RecipientChanges<'a> {
    status: &'a str,
    status_rank: i16,
    updated_at: chrono::DateTime<chrono::Utc>,
    provider_message_id: Option<&'a str>,
    failure_reason: Option<&'a str>,
    outbox_state: Option<&'a str>,
}

/// A recipient transition that was applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub recipient_id: i64,
    pub message_id: i64,
    pub member_id: i64,
    pub phone: String,
    pub status: RecipientStatus,
    pub failure_reason: Option<String>,
}

pub enum TransitionOutcome {
    /// The recipient moved to the new status.
    Applied(Applied),
    /// The recipient is already at this stage or later.
    Stale,
    UnknownRecipient,
}

/// Applies one transition if it moves the recipient forward. The message's running totals are
/// updated afterwards by [`super::totals::record`], outside the caller's transaction.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    t: Transition<'_>,
) -> Result<TransitionOutcome, diesel::result::Error> {
    use message_recipients::dsl as r;
    let rank = t.status.rank();
    let changes = RecipientChanges {
        status: t.status.as_str(),
        status_rank: rank,
        updated_at: chrono::Utc::now(),
        provider_message_id: t.provider_message_id,
        failure_reason: t.failure_reason,
        outbox_state: t.finishes_outbox.then_some("done"),
    };
    let returning = (r::id, r::message_id, r::member_id, r::phone);
    let updated: Option<(i64, i64, i64, String)> = diesel::update(
        r::message_recipients
            .filter(t.key.matches())
            .filter(r::status_rank.lt(rank)),
    )
    .set(&changes)
    .returning(returning)
    .get_result(conn)
    .await
    .optional()?;
    let Some((recipient_id, message_id, member_id, phone)) = updated else {
        let exists: Option<i64> = r::message_recipients
            .filter(t.key.matches())
            .select(r::id)
            .first(conn)
            .await
            .optional()?;
        return Ok(match exists {
            Some(_) => TransitionOutcome::Stale,
            None => TransitionOutcome::UnknownRecipient,
        });
    };
    Ok(TransitionOutcome::Applied(Applied {
        recipient_id,
        message_id,
        member_id,
        phone,
        status: t.status,
        failure_reason: t.failure_reason.map(str::to_owned),
    }))
}
