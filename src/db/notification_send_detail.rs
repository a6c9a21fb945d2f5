//! One admin's or operator's notification send as its sender's admins see it: the send, and a
//! page of its recipients with their marks and each channel's delivery.

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::{DbError, DbPool, get};

/// A send as its sender's admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendDetail {
    pub id: i64,
    pub sender_id: i64,
    pub church_id: Option<i64>,
    pub category: String,
    pub priority: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub audience: serde_json::Value,
    pub recipient_count: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// A page of its recipients, by user id.
    pub recipients: Vec<SendRecipient>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next_after: Option<i64>,
}

/// One recipient of a send: their marks and each channel's delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendRecipient {
    pub user_id: i64,
    pub name: String,
    pub seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub archived_at: Option<chrono::DateTime<chrono::Utc>>,
    pub deliveries: Vec<ChannelDelivery>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDelivery {
    pub channel: String,
    /// `pending`, `held`, `sent`, `delivered`, `read`, `failed` or `skipped`.
    pub status: String,
    pub reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When a `pending` or `held` email is next looked at (sent, or dropped if read by then).
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the mail server accepted it.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Sends tried (retries follow a refusal for now).
    pub attempts: i32,
}

#[derive(diesel::QueryableByName)]
struct SendRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    sender_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    church_id: Option<i64>,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    priority: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Jsonb)]
    audience: serde_json::Value,
    #[diesel(sql_type = BigInt)]
    recipient_count: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(diesel::QueryableByName)]
struct RecipientRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    seen_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    read_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archived_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    delivered_created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    sent_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// A send with a page of its recipients (after user `after`, at most `limit`); `None` if there
/// is no such send, or it is another church's (`church` is the caller's, `None` for
/// operators).
pub async fn detail(
    pool: &DbPool,
    id: i64,
    church: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Option<SendDetail>, DbError> {
    let mut conn = get(pool).await?;
    let sends: Vec<SendRow> = diesel::sql_query(
        "SELECT id, sender_id, church_id, category, priority, title, body, audience, \
             recipient_count::bigint AS recipient_count, created_at \
         FROM notification_sends WHERE id = $1 \
           AND ($2::bigint IS NULL OR church_id = $2)",
    )
    .bind::<BigInt, _>(id)
    .bind::<Nullable<BigInt>, _>(church)
    .load(&mut conn)
    .await?;
    let Some(send) = sends.into_iter().next() else {
        return Ok(None);
    };
    let rows: Vec<RecipientRow> = diesel::sql_query(
        "WITH page AS (SELECT id, user_id, seen_at, read_at, archived_at FROM notifications \
                       WHERE bulk_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3) \
         SELECT p.user_id, u.name, p.seen_at, p.read_at, p.archived_at, d.channel, d.status, \
             d.reason, d.created_at AS delivered_created_at, d.updated_at, \
             CASE WHEN d.status IN ('pending', 'held') THEN d.due_at END AS due_at, d.sent_at, \
             d.attempts \
         FROM page p JOIN users u ON u.id = p.user_id \
         JOIN notification_deliveries d ON d.notification_id = p.id \
         ORDER BY p.user_id, array_position(ARRAY['in_app', 'email', 'sms'], d.channel)",
    )
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit + 1)
    .load(&mut conn)
    .await?;
    let mut recipients: Vec<SendRecipient> = Vec::new();
    for row in rows {
        let delivery = ChannelDelivery {
            channel: row.channel,
            status: row.status,
            reason: row.reason,
            created_at: row.delivered_created_at,
            updated_at: row.updated_at,
            due_at: row.due_at,
            sent_at: row.sent_at,
            attempts: row.attempts,
        };
        match recipients.last_mut() {
            Some(last) if last.user_id == row.user_id => last.deliveries.push(delivery),
            _ => recipients.push(SendRecipient {
                user_id: row.user_id,
                name: row.name,
                seen_at: row.seen_at,
                read_at: row.read_at,
                archived_at: row.archived_at,
                deliveries: vec![delivery],
            }),
        }
    }
    let next_after = match recipients.len() as i64 > limit {
        true => {
            recipients.truncate(limit as usize);
            recipients.last().map(|r| r.user_id)
        }
        false => None,
    };
    Ok(Some(SendDetail {
        id: send.id,
        sender_id: send.sender_id,
        church_id: send.church_id,
        category: send.category,
        priority: send.priority,
        title: send.title,
        body: send.body,
        audience: send.audience,
        recipient_count: send.recipient_count,
        created_at: send.created_at,
        recipients,
        next_after,
    }))
}
