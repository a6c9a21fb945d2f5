//! What became of the notifications made in a period: per channel, how many deliveries are in
//! each status; how many were read and how fast; how many emails stood in for the app
//! (fallbacks) and how many digests went. For one church's people, or everyone's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::{DbError, DbPool, get};

/// One channel's deliveries by status.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ChannelCounts {
    pub pending: i64,
    pub held: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub skipped: i64,
}

impl ChannelCounts {
    fn add(&mut self, status: &str, n: i64) {
        match status {
            "pending" => self.pending += n,
            "held" => self.held += n,
            "sent" => self.sent += n,
            "delivered" => self.delivered += n,
            "read" => self.read += n,
            "failed" => self.failed += n,
            "skipped" => self.skipped += n,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationStats {
    /// Notifications made in the period.
    pub notifications: i64,
    /// Of them, read (in the app).
    pub read: i64,
    /// `read` / `notifications`; `null` when there were none.
    pub read_rate: Option<f64>,
    /// Median seconds from being made to being read, of those read.
    pub median_seconds_to_read: Option<f64>,
    /// `in_app`, `email` and `sms`, each with its deliveries by status.
    #[schema(value_type = BTreeMap<String, ChannelCounts>)]
    pub channels: BTreeMap<&'static str, ChannelCounts>,
    /// Emails sent because the notification was not seen in the app (offline, or unread).
    pub email_fallbacks: i64,
    /// Digest emails sent (each gathers several notifications).
    pub digests_sent: i64,
}

const PICKED: &str = "WITH picked AS ( \
        SELECT n.id, n.user_id, n.created_at, n.read_at FROM notifications n \
        JOIN users u ON u.id = n.user_id \
        WHERE n.created_at >= $1 AND n.created_at < $2 \
            AND ($3::text IS NULL OR n.category = $3) \
            AND ($4::bigint IS NULL OR u.church_id = $4)) ";

#[derive(diesel::QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    notifications: i64,
    #[diesel(sql_type = BigInt)]
    read: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    median_read: Option<f64>,
}

#[derive(diesel::QueryableByName)]
struct ByStatus {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    fallbacks: i64,
    #[diesel(sql_type = BigInt)]
    digests: i64,
}

/// The figures for notifications made from `since` until `until` (of `category`; of `church`'s
/// people, or everyone's).
pub async fn stats(
    pool: &DbPool,
    (since, until): (DateTime<Utc>, DateTime<Utc>),
    category: Option<&str>,
    church: Option<i64>,
) -> Result<NotificationStats, DbError> {
    let mut conn = get(pool).await?;
    let totals: Totals = diesel::sql_query(format!(
        "{PICKED} SELECT count(*) AS notifications, \
             count(*) FILTER (WHERE read_at IS NOT NULL) AS read, \
             percentile_cont(0.5) WITHIN GROUP ( \
                 ORDER BY extract(epoch FROM read_at - created_at)::float8) \
                 FILTER (WHERE read_at IS NOT NULL) AS median_read \
         FROM picked"
    ))
    .bind::<Timestamptz, _>(since)
    .bind::<Timestamptz, _>(until)
    .bind::<Nullable<Text>, _>(category)
    .bind::<Nullable<BigInt>, _>(church)
    .get_result(&mut conn)
    .await?;
    let rows: Vec<ByStatus> = diesel::sql_query(format!(
        "{PICKED} SELECT d.channel, d.status, count(*) AS n, \
             count(*) FILTER (WHERE d.status = 'sent' AND d.plan IN ('offline', 'unread')) \
                 AS fallbacks, \
             count(DISTINCT (p.user_id, d.sent_at)) FILTER (WHERE d.status = 'sent' \
                 AND d.plan = 'digest') AS digests \
         FROM picked p JOIN notification_deliveries d ON d.notification_id = p.id \
         GROUP BY d.channel, d.status"
    ))
    .bind::<Timestamptz, _>(since)
    .bind::<Timestamptz, _>(until)
    .bind::<Nullable<Text>, _>(category)
    .bind::<Nullable<BigInt>, _>(church)
    .load(&mut conn)
    .await?;
    let mut channels: BTreeMap<&'static str, ChannelCounts> = ["in_app", "email", "sms"]
        .into_iter()
        .map(|c| (c, ChannelCounts::default()))
        .collect();
    let (mut email_fallbacks, mut digests_sent) = (0, 0);
    for row in rows {
        if let Some(counts) = channels.get_mut(row.channel.as_str()) {
            counts.add(&row.status, row.n);
        }
        if row.channel == "email" {
            email_fallbacks += row.fallbacks;
            digests_sent += row.digests;
        }
    }
    Ok(NotificationStats {
        notifications: totals.notifications,
        read: totals.read,
        read_rate: (totals.notifications > 0)
            .then(|| totals.read as f64 / totals.notifications as f64),
        median_seconds_to_read: totals.median_read,
        channels,
        email_fallbacks,
        digests_sent,
    })
}
