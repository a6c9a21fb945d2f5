//! Delivery analytics from kept figures: the church's days, into which each message's summary
//! is added once it is final (see [`super::delivery_summaries`]), the few messages not
//! summarized yet, and the church's quarter-hour tallies of replies and opt-outs. A year by
//! day reads at most 366 kept days whatever the church sent; only unsummarized messages are
//! counted from their recipients.
//!
//! Days and weeks are the church's own: instants are cut in its time zone by PostgreSQL's zone
//! rules; a summarized message's day is the one it went out on in the church's zone when it was
//! summarized. A message counts towards the interval it went out in (its `sendAt`, else when
//! it was accepted); a cancelled one not at all.

use std::sync::LazyLock;

use belfry_actors::status::MessageStatus;
use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Date, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::delivery_summaries::{failed_recipient_sql, failure_codes_select};
use super::{DbError, DbPool, get};
use crate::domain::ReportPeriod;

/// Recipients of messages that went out in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct SendFigures {
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    /// Accepted by the carrier.
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    /// Failed at the carrier, given up on, or skipped because the member had opted out.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
}

/// Texts back and opt-outs in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct ReplyFigures {
    #[diesel(sql_type = BigInt)]
    pub replies: i64,
    #[diesel(sql_type = BigInt)]
    pub opt_outs: i64,
}

#[derive(QueryableByName)]
struct SendRow {
    #[diesel(sql_type = Date)]
    bucket: NaiveDate,
    #[diesel(embed)]
    figures: SendFigures,
}

#[derive(QueryableByName)]
struct ReplyRow {
    #[diesel(sql_type = Date)]
    bucket: NaiveDate,
    #[diesel(embed)]
    figures: ReplyFigures,
}

/// Failures under one code.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct FailureCount {
    #[diesel(sql_type = Text)]
    pub code: String,
    /// One of the reasons given under it.
    #[diesel(sql_type = Text)]
    pub example: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

pub struct DeliveryAnalytics {
    /// By the first day of each interval; intervals with nothing are missing.
    pub sends: Vec<(NaiveDate, SendFigures)>,
    pub replies: Vec<(NaiveDate, ReplyFigures)>,
    /// Most first.
    pub failures: Vec<FailureCount>,
}

/// How many failure codes a report lists.
pub const TOP_FAILURES: i64 = 20;

// Every query binds $1 church, $2 zone, $3 interval unit, $4 first day, $5 the day after the
// last. The period starts and ends at the zone's midnights:
const FROM: &str = "($4::date::timestamp AT TIME ZONE $2)";
const TO: &str = "($5::date::timestamp AT TIME ZONE $2)";

/// The church's messages that went out in the period and are not summarized now (still going,
/// just finished, or changed since their summary), as CTE `m`; `summary_*` is what an earlier
/// summary of each added to its church's days (`NULL` if none), to be taken back out.
static UNSUMMARIZED: LazyLock<String> = LazyLock::new(|| {
    let went_out = "COALESCE(send_at, created_at)";
    format!(
        "m AS (SELECT id, status, recipient_count, delivered_count, failed_count, \
             summary_day, summary_recipients, summary_sent, summary_delivered, summary_failed, \
             date_trunc($3, {went_out} AT TIME ZONE $2)::date AS bucket \
           FROM messages WHERE church_id = $1 AND sent_count IS NULL \
             AND {went_out} >= {FROM} AND {went_out} < {TO} AND status <> '{cancelled}')",
        cancelled = MessageStatus::Cancelled.as_str(),
    )
});

/// Of those, the ones that may have reached the carrier: counted from their recipients.
fn may_have_gone() -> String {
    format!("m.status <> '{}'", MessageStatus::Scheduled.as_str())
}

/// The church's days (kept by the summaries), then the unsummarized messages net of what their
/// earlier summaries added. Their recipients are read message by message (`LATERAL`), so the
/// plan stays an index lookup per message however many the statistics guess there are.
static SENDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {m} \
         SELECT bucket, sum(recipients)::bigint AS recipients, sum(sent)::bigint AS sent, \
             sum(delivered)::bigint AS delivered, sum(failed)::bigint AS failed FROM ( \
             SELECT date_trunc($3, day)::date AS bucket, recipients, sent, delivered, failed \
             FROM church_days WHERE church_id = $1 AND day >= $4 AND day < $5 \
             UNION ALL \
             SELECT m.bucket, m.recipient_count - COALESCE(m.summary_recipients, 0), \
                 COALESCE(live.sent, 0) - COALESCE(m.summary_sent, 0), \
                 m.delivered_count - COALESCE(m.summary_delivered, 0), \
                 m.failed_count - COALESCE(m.summary_failed, 0) \
             FROM m LEFT JOIN LATERAL ( \
                 SELECT count(r.accepted_at)::int AS sent FROM message_recipients r \
                 WHERE r.message_id = m.id) live ON {may_have_gone} \
         ) figures GROUP BY bucket",
        m = UNSUMMARIZED.as_str(),
        may_have_gone = may_have_gone(),
    )
});

static FAILURES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {m} \
         SELECT code, min(example) AS example, sum(n)::bigint AS count FROM ( \
             SELECT code, example, count AS n FROM church_day_failures \
             WHERE church_id = $1 AND day >= $4 AND day < $5 \
             UNION ALL \
             SELECT c.code, c.example, c.n FROM m CROSS JOIN LATERAL ( \
                 {live_codes} FROM message_recipients r \
                 WHERE r.message_id = m.id AND {failed} GROUP BY 1) c \
             WHERE {may_have_gone} \
             UNION ALL \
             SELECT f.code, f.example, -f.count FROM m \
             JOIN message_failure_codes f ON f.message_id = m.id WHERE m.summary_day IS NOT NULL \
         ) c GROUP BY code HAVING sum(n) > 0 ORDER BY sum(n) DESC, code LIMIT $6",
        m = UNSUMMARIZED.as_str(),
        live_codes = failure_codes_select(),
        may_have_gone = may_have_gone(),
        failed = failed_recipient_sql(),
    )
});

static REPLIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT date_trunc($3, quarter AT TIME ZONE $2)::date AS bucket, \
             sum(replies)::bigint AS replies, sum(opt_outs)::bigint AS opt_outs \
         FROM church_tallies \
         WHERE church_id = $1 AND quarter >= {FROM} AND quarter < {TO} GROUP BY 1"
    )
});

/// The church's figures for `period`, its days cut in `zone` (an IANA name).
pub async fn delivery(
    pool: &DbPool,
    church: i64,
    zone: &str,
    period: &ReportPeriod,
) -> Result<DeliveryAnalytics, DbError> {
    let pooled = get(pool).await?;
    let conn: &AsyncPgConnection = &pooled;
    let unit = period.interval.as_str();
    let end = period.end();
    let bind = |sql: &'static str| {
        diesel::sql_query(sql)
            .bind::<BigInt, _>(church)
            .bind::<Text, _>(zone)
            .bind::<Text, _>(unit)
            .bind::<Date, _>(period.since)
            .bind::<Date, _>(end)
    };
    // Pipelined on one connection: the three reads cost one round trip.
    let (sends, replies, failures) = futures_util::try_join!(
        async {
            let mut conn = conn;
            bind(SENDS.as_str()).load::<SendRow>(&mut conn).await
        },
        async {
            let mut conn = conn;
            bind(REPLIES.as_str()).load::<ReplyRow>(&mut conn).await
        },
        async {
            let mut conn = conn;
            bind(FAILURES.as_str())
                .bind::<BigInt, _>(TOP_FAILURES)
                .load::<FailureCount>(&mut conn)
                .await
        },
    )?;
    Ok(DeliveryAnalytics {
        sends: sends.into_iter().map(|b| (b.bucket, b.figures)).collect(),
        replies: replies.into_iter().map(|b| (b.bucket, b.figures)).collect(),
        failures,
    })
}
