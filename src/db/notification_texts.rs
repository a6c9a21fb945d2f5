//! Notifications' SMS deliveries as the text courier works through them: claiming the ones
//! that are due (each with what deciding and writing its text needs) and applying the
//! carrier's reports on the texts it accepted. What became of a claimed one is recorded by
//! `notification_mail::record`, the same as an email's.
//!
//! Claiming moves a delivery's `due_at` on by a lease, as for email: two nodes never hold one
//! at once.

use belfry_actors::protocol::Priority;
use belfry_actors::status::RecipientStatus;
use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Bool, Double, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};
use crate::domain::Preferences;

/// What the text courier needs of one due SMS delivery.
#[derive(Debug, Clone)]
pub struct DueText {
    pub notification_id: i64,
    pub church_id: Option<i64>,
    pub priority: Priority,
    pub title: String,
    pub body: String,
    /// What the send's template wrote for SMS.
    pub written: Option<String>,
    /// Tries made so far.
    pub attempts: i32,
    /// The user's phone now (they may have removed it since).
    pub phone: Option<String>,
    pub disabled: bool,
    pub preferences: Preferences,
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    church_id: Option<i64>,
    #[diesel(sql_type = Text)]
    priority: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Nullable<Text>)]
    sms_text: Option<String>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Bool)]
    disabled: bool,
    #[diesel(sql_type = Nullable<Jsonb>)]
    settings: Option<serde_json::Value>,
    #[diesel(sql_type = Text)]
    timezone: String,
}

/// Claims up to `limit` SMS deliveries due at `now` for `lease_secs`, oldest first.
pub async fn claim_due(
    pool: &DbPool,
    now: DateTime<Utc>,
    lease_secs: f64,
    limit: i64,
) -> Result<Vec<DueText>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<Row> = diesel::sql_query(
        "WITH due AS ( \
             SELECT d.notification_id FROM notification_deliveries d \
             WHERE d.status IN ('pending', 'held') AND d.due_at <= $1 AND d.channel = 'sms' \
             ORDER BY d.due_at LIMIT $3 FOR UPDATE SKIP LOCKED), \
         claimed AS ( \
             UPDATE notification_deliveries d SET due_at = $1 + make_interval(secs => $2), \
                 updated_at = now() \
             FROM due WHERE d.notification_id = due.notification_id AND d.channel = 'sms' \
             RETURNING d.notification_id, d.attempts) \
         SELECT c.notification_id, n.church_id, n.priority, n.title, n.body, s.sms_text, \
             c.attempts, u.phone, u.disabled_at IS NOT NULL AS disabled, p.settings, \
             COALESCE(ch.timezone, 'UTC') AS timezone \
         FROM claimed c JOIN notifications n ON n.id = c.notification_id \
         LEFT JOIN notification_sends s ON s.id = n.bulk_id \
         JOIN users u ON u.id = n.user_id LEFT JOIN churches ch ON ch.id = u.church_id \
         LEFT JOIN notification_preferences p ON p.user_id = n.user_id \
         ORDER BY n.created_at, n.id",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Double, _>(lease_secs)
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(DueText {
                notification_id: row.notification_id,
                church_id: row.church_id,
                priority: Priority::parse(&row.priority).ok_or_else(|| {
                    DbError::Corrupt(format!("notification priority {:?}", row.priority))
                })?,
                title: row.title,
                body: row.body,
                written: row.sms_text,
                attempts: row.attempts,
                phone: row.phone,
                disabled: row.disabled,
                preferences: Preferences::stored_or_default(row.settings, &row.timezone),
            })
        })
        .collect()
}

/// A carrier's report on a text: `Some(moved)` when a notification's text has that carrier
/// id (`moved`: its status changed), `None` when none has. Only `delivered` and failures
/// move a text on from `sent`, and nothing moves one that is already final.
pub async fn apply_report(
    pool: &DbPool,
    carrier_id: &str,
    status: RecipientStatus,
    failure: Option<&str>,
) -> Result<Option<bool>, DbError> {
    let next = if status == RecipientStatus::Delivered {
        Some("delivered")
    } else if status.is_failure() {
        Some("failed")
    } else {
        None
    };
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        moved: bool,
    }
    let mut conn = get(pool).await?;
    let found: Option<Found> = diesel::sql_query(
        "WITH text AS ( \
             SELECT notification_id FROM notification_deliveries \
             WHERE provider_message_id = $1 AND channel = 'sms'), \
         moved AS ( \
             UPDATE notification_deliveries d SET status = $2, reason = $3, updated_at = now() \
             FROM text WHERE d.notification_id = text.notification_id AND d.channel = 'sms' \
                 AND $2 IS NOT NULL AND d.status = 'sent' \
             RETURNING d.notification_id) \
         SELECT EXISTS (SELECT 1 FROM moved) AS moved FROM text",
    )
    .bind::<Text, _>(carrier_id)
    .bind::<Nullable<Text>, _>(next)
    .bind::<Nullable<Text>, _>(failure.filter(|_| next == Some("failed")))
    .get_result(&mut conn)
    .await
    .optional()?;
    Ok(found.map(|f| f.moved))
}
