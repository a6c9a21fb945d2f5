//! Admins' and operators' sends of one notification to many people (`POST
//! /api/admin/notifications`): who the audience is, the send's own row, and each recipient's
//! notification, all in one transaction; with an `Idempotency-Key`, a repeat of the same
//! request answers the first send instead of sending again.

use belfry_actors::ports::{Announcement, Audience, NewNotification};
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::idempotency::KEY_LIFETIME_HOURS;
use super::{DbError, DbPool, get, notifications};

/// Who a send goes to, already checked against the sender's reach.
#[derive(Debug, Clone)]
pub enum Recipients {
    /// These users; `church` limits them to one church (an admin's send).
    Users { ids: Vec<i64>, church: Option<i64> },
    /// Everyone in these churches, or only those of one role.
    Churches {
        ids: Vec<i64>,
        role: Option<&'static str>,
    },
}

/// A send's answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendReceipt {
    pub id: i64,
    /// How many people it was stored for (disabled accounts are left out).
    pub recipient_count: i64,
}

pub struct NewSend<'a> {
    pub sender_id: i64,
    pub church_id: Option<i64>,
    pub notification: &'a NewNotification,
    pub recipients: Recipients,
    /// The audience as asked, kept with the send.
    pub audience: serde_json::Value,
    /// `(key, the request in a canonical form)`.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// When it is sent, as the recipients' quiet hours read it.
    pub now: chrono::DateTime<chrono::Utc>,
    /// The template version it was made from, with its email and SMS filled in.
    pub template: Option<FromTemplate>,
}

/// A send made from a template.
#[derive(Debug, Clone)]
pub struct FromTemplate {
    pub template_id: i64,
    pub email_subject: String,
    pub email_text: String,
    pub email_html: Option<String>,
    pub sms_text: Option<String>,
}

/// A stored send: its receipt and what to push (nothing when it was a repeat).
pub struct Stored {
    pub receipt: SendReceipt,
    pub announcements: Vec<Announcement>,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("these users are not in your reach: {0:?}")]
    UnknownUsers(Vec<i64>),
    #[error("these churches do not exist: {0:?}")]
    UnknownChurches(Vec<i64>),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SendError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(diesel::QueryableByName)]
struct Earlier {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    recipient_count: i64,
    #[diesel(sql_type = Text)]
    request: String,
}

fn missing(asked: &[i64], found: &[Id]) -> Vec<i64> {
    let mut missing: Vec<i64> = asked
        .iter()
        .copied()
        .filter(|a| !found.iter().any(|f| f.id == *a))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// The users a send reaches, or which of those asked for do not exist within its reach.
async fn users_of(
    conn: &mut AsyncPgConnection,
    recipients: &Recipients,
) -> Result<Vec<i64>, SendError> {
    match recipients {
        Recipients::Users { ids, church } => {
            let found: Vec<Id> = diesel::sql_query(
                "SELECT id FROM users WHERE id = ANY($1) AND ($2::bigint IS NULL OR church_id = $2)",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Nullable<BigInt>, _>(*church)
            .load(conn)
            .await?;
            let unknown = missing(ids, &found);
            if !unknown.is_empty() {
                return Err(SendError::UnknownUsers(unknown));
            }
            Ok(found.into_iter().map(|f| f.id).collect())
        }
        Recipients::Churches { ids, role } => {
            let found: Vec<Id> = diesel::sql_query("SELECT id FROM churches WHERE id = ANY($1)")
                .bind::<Array<BigInt>, _>(ids)
                .load(conn)
                .await?;
            let unknown = missing(ids, &found);
            if !unknown.is_empty() {
                return Err(SendError::UnknownChurches(unknown));
            }
            let users: Vec<Id> = diesel::sql_query(
                "SELECT id FROM users WHERE church_id = ANY($1) \
                 AND ($2::text IS NULL OR role = $2) ORDER BY id",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Nullable<Text>, _>(*role)
            .load(conn)
            .await?;
            Ok(users.into_iter().map(|u| u.id).collect())
        }
    }
}

/// The earlier send with this key, if it is still within its lifetime; an expired key is
/// freed. Requests with the same key wait for each other until the transaction ends.
async fn earlier(
    conn: &mut AsyncPgConnection,
    sender_id: i64,
    key: &str,
) -> Result<Option<Earlier>, SendError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("notification-send:{sender_id}:{key}"))
        .execute(conn)
        .await?;
    diesel::sql_query(
        "UPDATE notification_sends SET idempotency_key = NULL \
         WHERE sender_id = $1 AND idempotency_key = $2 \
           AND created_at < now() - make_interval(hours => $3)",
    )
    .bind::<BigInt, _>(sender_id)
    .bind::<Text, _>(key)
    .bind::<Integer, _>(KEY_LIFETIME_HOURS as i32)
    .execute(conn)
    .await?;
    let found: Vec<Earlier> = diesel::sql_query(
        "SELECT id, recipient_count::bigint AS recipient_count, request FROM notification_sends \
         WHERE sender_id = $1 AND idempotency_key = $2",
    )
    .bind::<BigInt, _>(sender_id)
    .bind::<Text, _>(key)
    .load(conn)
    .await?;
    Ok(found.into_iter().next())
}

/// Stores the send and one notification for each person it reaches.
pub async fn create(pool: &DbPool, send: NewSend<'_>) -> Result<Stored, SendError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, SendError, _>(async |conn| {
        if let Some((key, request)) = send.idempotency
            && let Some(first) = earlier(conn, send.sender_id, key).await?
        {
            if first.request != request {
                return Err(SendError::IdempotencyMismatch);
            }
            return Ok(Stored {
                receipt: SendReceipt {
                    id: first.id,
                    recipient_count: first.recipient_count,
                },
                announcements: Vec::new(),
                replayed: true,
            });
        }
        let users = users_of(conn, &send.recipients).await?;
        let n = send.notification;
        let id: Id = diesel::sql_query(
            "INSERT INTO notification_sends (sender_id, church_id, category, priority, title, \
                 body, audience, recipient_count, idempotency_key, request, template_id, \
                 email_subject, email_text, email_html, sms_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14) \
             RETURNING id",
        )
        .bind::<BigInt, _>(send.sender_id)
        .bind::<Nullable<BigInt>, _>(send.church_id)
        .bind::<Text, _>(n.category.as_str())
        .bind::<Text, _>(n.priority.as_str())
        .bind::<Text, _>(&n.title)
        .bind::<Text, _>(&n.body)
        .bind::<Jsonb, _>(&send.audience)
        .bind::<Nullable<Text>, _>(send.idempotency.map(|(key, _)| key))
        .bind::<Nullable<Text>, _>(send.idempotency.map(|(_, request)| request))
        .bind::<Nullable<BigInt>, _>(send.template.as_ref().map(|t| t.template_id))
        .bind::<Nullable<Text>, _>(send.template.as_ref().map(|t| t.email_subject.as_str()))
        .bind::<Nullable<Text>, _>(send.template.as_ref().map(|t| t.email_text.as_str()))
        .bind::<Nullable<Text>, _>(send.template.as_ref().and_then(|t| t.email_html.as_deref()))
        .bind::<Nullable<Text>, _>(send.template.as_ref().and_then(|t| t.sms_text.as_deref()))
        .get_result(conn)
        .await?;
        let announcements =
            notifications::create(conn, &Audience::Users(users), n, Some(id.id), send.now).await?;
        diesel::sql_query("UPDATE notification_sends SET recipient_count = $2 WHERE id = $1")
            .bind::<BigInt, _>(id.id)
            .bind::<Integer, _>(announcements.len() as i32)
            .execute(conn)
            .await?;
        Ok(Stored {
            receipt: SendReceipt {
                id: id.id,
                recipient_count: announcements.len() as i64,
            },
            announcements,
            replayed: false,
        })
    })
    .await
}
