//! Creating a send: the message, one outbox row per recipient, and the receipt answered to the
//! caller (kept with the idempotency key, so a replay answers exactly the same).

use belfry_actors::status::MessageStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

pub use super::audience::Audience;
use super::audience::{Candidate, CandidateError, candidates};
use super::conversations::{self, OutboundLine};
use super::schema::{churches, message_recipients, messages};
use super::{DbError, DbPool, get, idempotency};
use crate::domain::{BodyTemplate, Encoding, MergeError, Recipient, Segments};

/// The most segments one recipient's text may take, once its fields are filled in.
pub const MAX_SEGMENTS: usize = 10;

/// A message to store: what it says, to whom, from whom, and when it goes.
pub struct NewMessage<'a> {
    pub church_id: i64,
    pub sender_id: i64,
    /// The body as written; merge fields are filled in for each recipient.
    pub body: &'a BodyTemplate,
    pub audience: Audience<'a>,
    /// Later than now: held in the outbox until then (`scheduled`); `None` sends at once.
    pub send_at: Option<DateTime<Utc>>,
    /// Goes even during the church's quiet hours.
    pub urgent: bool,
    /// When it would have gone, had the church's quiet hours not held it: `send_at` is then
    /// their end.
    pub held_from: Option<DateTime<Utc>>,
    /// A reply in a conversation, not a broadcast: its sender is not told when it finishes.
    pub conversation_reply: bool,
}

/// An `Idempotency-Key` and the request it came with, in a canonical form.
pub struct IdempotentRequest<'a> {
    pub key: &'a str,
    pub request: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("these members do not exist in your church: {0:?}")]
    UnknownMembers(Vec<i64>),
    #[error("these groups do not exist in your church: {0:?}")]
    UnknownGroups(Vec<i64>),
    #[error("the message has no recipients")]
    NoRecipients,
    #[error("every chosen member has opted out")]
    AllOptedOut(Vec<i64>),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("a recipient's text would take {segments} segments; at most {MAX_SEGMENTS}")]
    TooLong { segments: usize },
    #[error("{requested} recipients, but the church may send to {remaining} more today")]
    QuotaExceeded {
        quota: u32,
        remaining: u32,
        requested: usize,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<CandidateError> for CreateError {
    fn from(e: CandidateError) -> Self {
        match e {
            CandidateError::UnknownMembers(ids) => Self::UnknownMembers(ids),
            CandidateError::UnknownGroups(ids) => Self::UnknownGroups(ids),
            CandidateError::Query(e) => e.into(),
        }
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// What `POST /api/messages` answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendReceipt {
    pub id: i64,
    /// `pending`, or `scheduled` until `sendAt`.
    pub status: String,
    /// When a scheduled message goes out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    pub recipient_count: usize,
    /// `GSM-7`, or `UCS-2` if any recipient's text needs it.
    #[serde(default)]
    pub encoding: Encoding,
    /// The most segments any recipient's text takes, merge fields filled in.
    #[serde(default)]
    pub segments: usize,
    /// Chosen members who were not sent to, and why.
    pub skipped: Vec<SkippedMember>,
    /// It would have started in the church's quiet hours: it is scheduled for their end.
    #[serde(default)]
    pub held_for_quiet_hours: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedMember {
    pub member_id: i64,
    pub reason: String,
}

pub struct Created {
    pub receipt: SendReceipt,
    /// Lines it added to the church's conversations with its recipients' phones.
    pub conversation_lines: Vec<OutboundLine>,
    /// An earlier request with the same idempotency key created it.
    pub replayed: bool,
    /// Recipients the church may still send to in the last 24 hours, when it has a quota.
    pub quota_left: Option<u32>,
}

/// How many recipients a church may send to in any 24 hours (cost control).
#[derive(Debug, Clone, Copy)]
pub struct DailyQuota(pub u32);

/// Each recipient's text, when the body has merge fields (`None`: everyone gets the body as
/// written), and the largest of them in segments.
struct Rendered {
    texts: Option<Vec<String>>,
    encoding: Encoding,
    segments: usize,
}

async fn render(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    body: &BodyTemplate,
    recipients: &[Candidate],
) -> Result<Rendered, CreateError> {
    if !body.is_personal() {
        let count = Segments::of(body.source());
        return Ok(Rendered {
            texts: None,
            encoding: count.encoding,
            segments: count.segments,
        });
    }
    let church: String = churches::table
        .find(church_id)
        .select(churches::name)
        .first(conn)
        .await?;
    let mut texts = Vec::with_capacity(recipients.len());
    let (mut encoding, mut segments) = (Encoding::Gsm7, 0);
    for candidate in recipients {
        let text = body.render(Recipient {
            name: &candidate.name,
            church: &church,
        })?;
        let count = Segments::of(&text);
        segments = segments.max(count.segments);
        if count.encoding == Encoding::Ucs2 {
            encoding = Encoding::Ucs2;
        }
        texts.push(text);
    }
    Ok(Rendered {
        texts: Some(texts),
        encoding,
        segments,
    })
}

pub async fn create(
    pool: &DbPool,
    message: NewMessage<'_>,
    idempotency: Option<IdempotentRequest<'_>>,
    quota: Option<DailyQuota>,
) -> Result<Created, CreateError> {
    let NewMessage {
        church_id,
        sender_id,
        body,
        audience,
        send_at,
        urgent,
        held_from,
        conversation_reply,
    } = message;
    let held_for_quiet_hours = held_from.is_some();
    let mut conn = get(pool).await?;
    conn.transaction::<_, CreateError, _>(async |conn| {
        if let Some(idem) = &idempotency
            && let Some(stored) = idempotency::lock_and_find(conn, sender_id, idem.key).await?
        {
            if stored.request != idem.request {
                return Err(CreateError::IdempotencyMismatch);
            }
            let receipt = serde_json::from_str(&stored.response)
                .map_err(|e| DbError::Migrate(format!("stored receipt unreadable: {e}")))?;
            return Ok(Created {
                receipt,
                conversation_lines: Vec::new(),
                replayed: true,
                quota_left: None,
            });
        }
        let candidates = candidates(conn, church_id, &audience).await?;
        let (to_send, opted_out): (Vec<_>, Vec<_>) =
            candidates.into_iter().partition(|c| !c.opted_out);
        let skipped: Vec<SkippedMember> = opted_out
            .iter()
            .map(|c| SkippedMember {
                member_id: c.member_id,
                reason: "opted_out".to_owned(),
            })
            .collect();
        if to_send.is_empty() {
            return Err(if skipped.is_empty() {
                CreateError::NoRecipients
            } else {
                CreateError::AllOptedOut(skipped.iter().map(|s| s.member_id).collect())
            });
        }
        let rendered = render(conn, church_id, body, &to_send).await?;
        if rendered.segments > MAX_SEGMENTS {
            return Err(CreateError::TooLong {
                segments: rendered.segments,
            });
        }
        let quota_left = match quota {
            Some(quota) => Some(take_from_quota(conn, church_id, quota, to_send.len()).await?),
            None => None,
        };
        let status = match send_at {
            Some(_) => MessageStatus::Scheduled,
            None => MessageStatus::Pending,
        };
        let row = MessageInsert {
            church_id,
            sender_id,
            body: body.source(),
            status,
            send_at,
            urgent,
            held_from,
            conversation_reply,
        };
        let message_id = insert(conn, &row, &to_send, rendered.texts.as_deref()).await?;
        let conversation_lines =
            conversations::record_outbound(conn, church_id, message_id, body.source()).await?;
        let receipt = SendReceipt {
            id: message_id,
            status: status.as_str().to_owned(),
            send_at,
            recipient_count: to_send.len(),
            encoding: rendered.encoding,
            segments: rendered.segments,
            skipped,
            held_for_quiet_hours,
        };
        if let Some(idem) = &idempotency {
            let response = serde_json::to_string(&receipt).unwrap_or_default();
            idempotency::remember(
                conn,
                sender_id,
                idem.key,
                idem.request,
                message_id,
                &response,
            )
            .await?;
        }
        Ok(Created {
            receipt,
            conversation_lines,
            replayed: false,
            quota_left,
        })
    })
    .await
}

/// Checks that `requested` more recipients fit in the church's quota for the last 24 hours;
/// returns what is left after them. The church's row is locked until the transaction ends, so
/// two broadcasts cannot both take the last of the quota: a broadcast is refused whole, never
/// half sent.
async fn take_from_quota(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    DailyQuota(quota): DailyQuota,
    requested: usize,
) -> Result<u32, CreateError> {
    use diesel::dsl::sum;
    diesel::sql_query("SELECT id FROM churches WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::BigInt, _>(church_id)
        .execute(conn)
        .await?;
    let used: Option<i64> = messages::table
        .filter(messages::church_id.eq(church_id))
        .filter(messages::created_at.gt(chrono::Utc::now() - chrono::Duration::hours(24)))
        .select(sum(messages::recipient_count))
        .first(conn)
        .await?;
    let remaining = u64::from(quota).saturating_sub(used.unwrap_or(0).max(0) as u64) as u32;
    if requested as u64 > u64::from(remaining) {
        return Err(CreateError::QuotaExceeded {
            quota,
            remaining,
            requested,
        });
    }
    Ok(remaining - requested as u32)
}

struct MessageInsert<'a> {
    church_id: i64,
    sender_id: i64,
    body: &'a str,
    status: MessageStatus,
    send_at: Option<DateTime<Utc>>,
    urgent: bool,
    held_from: Option<DateTime<Utc>>,
    conversation_reply: bool,
}

async fn insert(
    conn: &mut AsyncPgConnection,
    message: &MessageInsert<'_>,
    recipients: &[Candidate],
    texts: Option<&[String]>,
) -> Result<i64, diesel::result::Error> {
    let message_id: i64 = diesel::insert_into(messages::table)
        .values((
            messages::church_id.eq(message.church_id),
            messages::sender_id.eq(message.sender_id),
            messages::body.eq(message.body),
            messages::status.eq(message.status.as_str()),
            messages::send_at.eq(message.send_at),
            messages::urgent.eq(message.urgent),
            messages::held_for_quiet_hours.eq(message.held_from.is_some()),
            messages::held_from.eq(message.held_from),
            messages::recipient_count.eq(recipients.len() as i32),
        ))
        .returning(messages::id)
        .get_result(conn)
        .await?;
    if message.conversation_reply {
        // Not in the table's DSL: diesel's tables hold at most 16 columns by default.
        diesel::sql_query("UPDATE messages SET conversation_reply = true WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(message_id)
            .execute(conn)
            .await?;
    }
    let rows: Vec<_> = recipients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                message_recipients::message_id.eq(message_id),
                message_recipients::member_id.eq(c.member_id),
                message_recipients::phone.eq(c.phone.as_str()),
                message_recipients::body.eq(texts.map(|texts| texts[i].as_str())),
            )
        })
        .collect();
    // PostgreSQL allows 65,535 bind parameters per statement; 4 per row.
    for chunk in rows.chunks(10_000) {
        diesel::insert_into(message_recipients::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    // A scheduled message's recipients become due at its time: the outbox claims nothing
    // before.
    if let Some(send_at) = message.send_at {
        diesel::update(message_recipients::table)
            .filter(message_recipients::message_id.eq(message_id))
            .set(message_recipients::next_attempt_at.eq(send_at))
            .execute(conn)
            .await?;
    }
    Ok(message_id)
}
