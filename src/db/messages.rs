//! Messages and their recipients: reading a send back, cancelling a scheduled one, and ending
//! a recipient Belfry gives up on (its running totals follow in `totals`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{message_recipients, messages};
use super::{DbError, DbPool, get};
use belfry_actors::status::{MessageStatus, RecipientStatus, Transition};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
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
    /// When a scheduled message goes (or went) out; `null` for one sent at once.
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
    /// An admin's message that goes even during the church's quiet hours.
    pub urgent: bool,
    /// It would have started in the church's quiet hours: `sendAt` is their end.
    pub held_for_quiet_hours: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
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

/// What became of a request to cancel a scheduled message.
pub enum Cancel {
    Cancelled(MessageRow),
    NoSuchMessage,
    /// It was never scheduled, or its time came and the outbox took its recipients.
    AlreadyStarted(String),
}

/// Cancels the church's scheduled message unless sending began. The recipients are locked
/// first: the outbox claims with `SKIP LOCKED`, so it cannot take one while this decides, and
/// any it took already mean sending began.
pub async fn cancel(pool: &DbPool, church_id: i64, message_id: i64) -> Result<Cancel, DbError> {
    use diesel_async::AsyncConnection;
    let mut conn = get(pool).await?;
    conn.transaction::<_, DbError, _>(async |conn| {
        let message: Option<MessageRow> = messages::table
            .filter(messages::id.eq(message_id))
            .filter(messages::church_id.eq(church_id))
            .select(MessageRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(message) = message else {
            return Ok(Cancel::NoSuchMessage);
        };
        if message.status != MessageStatus::Scheduled.as_str() {
            return Ok(Cancel::AlreadyStarted(message.status));
        }
        let states: Vec<String> = message_recipients::table
            .filter(message_recipients::message_id.eq(message_id))
            .select(message_recipients::outbox_state)
            .for_update()
            .load(conn)
            .await?;
        if states.iter().any(|state| state != "ready") {
            return Ok(Cancel::AlreadyStarted("sending".to_owned()));
        }
        diesel::update(message_recipients::table)
            .filter(message_recipients::message_id.eq(message_id))
            .set(message_recipients::outbox_state.eq("done"))
            .execute(conn)
            .await?;
        let cancelled: MessageRow = diesel::update(messages::table.find(message_id))
            .set((
                messages::status.eq(MessageStatus::Cancelled.as_str()),
                messages::cancelled_at.eq(diesel::dsl::now),
                messages::updated_at.eq(diesel::dsl::now),
            ))
            .returning(MessageRow::as_returning())
            .get_result(conn)
            .await?;
        Ok(Cancel::Cancelled(cancelled))
    })
    .await
}

/// When a user's messages were created since `since`, oldest first.
pub async fn sent_by_since(
    pool: &DbPool,
    user_id: i64,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<chrono::DateTime<chrono::Utc>>, DbError> {
    let mut conn = get(pool).await?;
    Ok(messages::table
        .filter(messages::sender_id.eq(user_id))
        .filter(messages::created_at.ge(since))
        .order(messages::created_at.asc())
        .select(messages::created_at)
        .load(&mut conn)
        .await?)
}

#[derive(AsChangeset)]
#[diesel(table_name = message_recipients)]
struct FinalChanges<'a> {
    status: &'a str,
    status_rank: i16,
    updated_at: chrono::DateTime<chrono::Utc>,
    failure_reason: &'a str,
    outbox_state: &'a str,
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

impl Applied {
    pub fn transition(&self) -> Transition {
        Transition {
            recipient_id: self.recipient_id,
            message_id: self.message_id,
            member_id: self.member_id,
            status: self.status,
            failure_reason: self.failure_reason.clone(),
        }
    }
}

/// Ends a recipient Belfry gives up on (dead-lettered, or skipped because the member opted
/// out): a final failure status with its reason, out of the outbox. `None` if the recipient is
/// already final. The message's running totals are updated afterwards by
/// [`super::totals::record`], outside the caller's transaction.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    recipient_id: i64,
    status: RecipientStatus,
    reason: &str,
) -> Result<Option<Applied>, diesel::result::Error> {
    use message_recipients::dsl as r;
    debug_assert!(status.is_final() && status.is_failure());
    let changes = FinalChanges {
        status: status.as_str(),
        status_rank: status.rank(),
        updated_at: chrono::Utc::now(),
        failure_reason: reason,
        outbox_state: "done",
    };
    let updated: Option<(i64, i64, i64, String)> = diesel::update(
        r::message_recipients
            .filter(r::id.eq(recipient_id))
            .filter(r::status_rank.lt(status.rank())),
    )
    .set(&changes)
    .returning((r::id, r::message_id, r::member_id, r::phone))
    .get_result(conn)
    .await
    .optional()?;
    Ok(
        updated.map(|(recipient_id, message_id, member_id, phone)| Applied {
            recipient_id,
            message_id,
            member_id,
            phone,
            status,
            failure_reason: Some(reason.to_owned()),
        }),
    )
}
