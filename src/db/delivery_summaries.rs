//! Summaries of finished messages, for delivery analytics: how many recipients the carrier
//! accepted (`messages.sent_count`) and the failures by code (`message_failure_codes`).
//!
//! A message's delivered and failed totals are kept as it goes (see [`super::totals`]), but
//! "accepted by the carrier" and "failed with which code" would have to be counted from its
//! recipient rows, which a year of analytics cannot read. Once every recipient is final those
//! figures never change again, so they are counted once, here, off the sending path, and added
//! into the church's day (`church_days`, `church_day_failures`): each node
//! summarizes what has finished every second, skipping rows another node holds. A message some
//! of whose recipients stay `delivery_unconfirmed` never finishes; once all are settled and it
//! has been left alone a while, it is summarized too. Until then the analytics count the few
//! unfinished messages from their recipients; and a summary is dropped (`sent_count` cleared)
//! when a dead letter is retried or a settled recipient fails late, to be made again.
//!
//! The first summary of a broadcast is also when its sender is told it finished: the notice is
//! stored in the same transaction, so neither happens without the other.

use std::sync::LazyLock;

use belfry_actors::ports::{Announcement, Audience, NewNotification};
use belfry_actors::status::{MessageStatus, RecipientStatus, failure_code};
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::{DbError, DbPool, get, notifications};

/// How many messages one pass summarizes at most.
pub const BATCH: i64 = 200;

/// Messages whose every recipient is final, as SQL (the partial index
/// `messages_to_summarize` is on exactly this condition).
pub fn finished_sql() -> String {
    format!(
        "status IN ('{}', '{}', '{}')",
        MessageStatus::Delivered.as_str(),
        MessageStatus::Failed.as_str(),
        MessageStatus::Completed.as_str()
    )
}

/// A recipient that ended failed (skipped included), as SQL over recipients `r`.
pub fn failed_recipient_sql() -> String {
    format!(
        "r.status_rank = {} AND r.status <> '{}'",
        RecipientStatus::FINAL_RANK,
        RecipientStatus::Delivered.as_str()
    )
}

/// Counts failures by code from recipients `r`, giving `code`, `example` and `n`.
pub fn failure_codes_select() -> String {
    format!(
        "SELECT {code} AS code, min(COALESCE(r.failure_reason, r.status)) AS example, \
             count(*)::int AS n",
        code = failure_code::sql("r.failure_reason", "r.status")
    )
}

static PICK_FINISHED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM messages WHERE sent_count IS NULL AND {} \
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        finished_sql()
    )
});

/// Messages still `sending` whose every recipient is settled (some will never be final: the
/// carrier gave no confirmation) and that nothing has touched for [`QUIET_FOR`]
/// (`messages_sending_unsummarized` is on the first two conditions).
static PICK_SETTLED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT m.id FROM messages m \
         WHERE m.sent_count IS NULL AND m.status = '{sending}' \
           AND m.updated_at < now() - make_interval(secs => $2) \
           AND NOT EXISTS (SELECT 1 FROM message_recipients r \
                           WHERE r.message_id = m.id AND r.status_rank < {settled}) \
         ORDER BY m.id LIMIT $1 FOR UPDATE OF m SKIP LOCKED",
        sending = MessageStatus::Sending.as_str(),
        settled = RecipientStatus::SETTLED_RANK,
    )
});

/// How long a settled message must have been left alone before it is summarized: a late
/// report may still move a recipient on.
pub const QUIET_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// Which messages a pass looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Every recipient final: cheap to find, looked for every pass.
    Finished,
    /// Every recipient settled, and quiet for [`QUIET_FOR`]: each candidate's recipients are
    /// read, so looked for less often.
    Settled,
}

/// A summary of the messages `$1`, in order: take out what an earlier summary of theirs added
/// to their church's days, count them again from their recipients, and add that in. Church
/// days are upserted in key order, so that two nodes summarizing at once wait for each other
/// rather than deadlock.
static STEPS: LazyLock<[String; 7]> = LazyLock::new(|| {
    [
        "UPDATE church_days d SET recipients = d.recipients - s.recipients, sent = d.sent - s.sent, \
             delivered = d.delivered - s.delivered, failed = d.failed - s.failed \
         FROM (SELECT church_id, summary_day, sum(summary_recipients) AS recipients, \
                 sum(summary_sent) AS sent, sum(summary_delivered) AS delivered, \
                 sum(summary_failed) AS failed \
               FROM messages WHERE id = ANY($1) AND summary_day IS NOT NULL \
               GROUP BY church_id, summary_day) s \
         WHERE d.church_id = s.church_id AND d.day = s.summary_day"
            .to_owned(),
        "UPDATE church_day_failures d SET count = d.count - s.n \
         FROM (SELECT m.church_id, m.summary_day, f.code, sum(f.count) AS n \
               FROM message_failure_codes f JOIN messages m ON m.id = f.message_id \
               WHERE m.id = ANY($1) AND m.summary_day IS NOT NULL \
               GROUP BY m.church_id, m.summary_day, f.code) s \
         WHERE d.church_id = s.church_id AND d.day = s.summary_day AND d.code = s.code"
            .to_owned(),
        "DELETE FROM message_failure_codes WHERE message_id = ANY($1)".to_owned(),
        format!(
            "INSERT INTO message_failure_codes (message_id, code, example, count) \
             SELECT message_id, code, example, n FROM ( \
                 {select}, r.message_id FROM message_recipients r \
                 WHERE r.message_id = ANY($1) AND {failed} GROUP BY r.message_id, 1) c",
            select = failure_codes_select(),
            failed = failed_recipient_sql()
        ),
        "UPDATE messages m SET sent_count = s.sent, \
             summary_day = (COALESCE(m.send_at, m.created_at) AT TIME ZONE c.timezone)::date, \
             summary_recipients = m.recipient_count, summary_sent = s.sent, \
             summary_delivered = m.delivered_count, summary_failed = m.failed_count \
         FROM (SELECT p.id, count(r.accepted_at)::int AS sent \
               FROM unnest($1::bigint[]) AS p(id) \
               LEFT JOIN message_recipients r ON r.message_id = p.id GROUP BY p.id) s, churches c \
         WHERE m.id = s.id AND c.id = m.church_id"
            .to_owned(),
        "INSERT INTO church_days (church_id, day, recipients, sent, delivered, failed) \
         SELECT church_id, summary_day, sum(summary_recipients), sum(summary_sent), \
             sum(summary_delivered), sum(summary_failed) \
         FROM messages WHERE id = ANY($1) GROUP BY church_id, summary_day \
         ORDER BY church_id, summary_day \
         ON CONFLICT (church_id, day) DO UPDATE SET \
             recipients = church_days.recipients + EXCLUDED.recipients, \
             sent = church_days.sent + EXCLUDED.sent, \
             delivered = church_days.delivered + EXCLUDED.delivered, \
             failed = church_days.failed + EXCLUDED.failed"
            .to_owned(),
        "INSERT INTO church_day_failures (church_id, day, code, example, count) \
         SELECT m.church_id, m.summary_day, f.code, min(f.example), sum(f.count) \
         FROM message_failure_codes f JOIN messages m ON m.id = f.message_id \
         WHERE m.id = ANY($1) GROUP BY m.church_id, m.summary_day, f.code \
         ORDER BY m.church_id, m.summary_day, f.code \
         ON CONFLICT (church_id, day, code) DO UPDATE SET \
             count = church_day_failures.count + EXCLUDED.count, example = EXCLUDED.example"
            .to_owned(),
    ]
});

/// A message the summary found finished, as its sender's notice tells it.
#[derive(Debug, Clone, diesel::QueryableByName, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishedBroadcast {
    #[diesel(sql_type = BigInt)]
    pub message_id: i64,
    #[diesel(sql_type = BigInt)]
    #[serde(skip)]
    pub sender_id: i64,
    #[diesel(sql_type = BigInt)]
    #[serde(skip)]
    pub church_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[serde(skip)]
    pub body: String,
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
}

/// The broadcasts among `$1` whose senders have not been told they finished (a conversation
/// reply is not a broadcast).
const UNTOLD: &str = "SELECT m.id AS message_id, m.sender_id, m.church_id, m.body, \
        m.recipient_count::bigint AS recipients, m.delivered_count::bigint AS delivered, \
        m.failed_count::bigint AS failed \
    FROM messages m WHERE m.id = ANY($1) AND NOT m.conversation_reply \
      AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.sender_id \
                      AND n.dedup_key = 'message:' || m.id || ':finished') \
    ORDER BY m.id";

/// What a pass did: how many messages it summarized, and the notices it stored for their
/// senders (to push once committed).
#[derive(Debug, Default)]
pub struct Summarized {
    pub messages: usize,
    pub notices: Vec<Announcement>,
}

#[derive(diesel::QueryableByName)]
struct Picked {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Summarizes up to [`BATCH`] messages that `pick` finds, and in the same transaction stores
/// `notice` of each newly finished broadcast for its sender.
pub async fn summarize(
    pool: &DbPool,
    pick: Pick,
    notice: fn(&FinishedBroadcast) -> NewNotification,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Summarized, DbError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, DbError, _>(async |conn| {
        let picked: Vec<Picked> = match pick {
            Pick::Finished => {
                diesel::sql_query(PICK_FINISHED.as_str())
                    .bind::<BigInt, _>(BATCH)
                    .load(conn)
                    .await?
            }
            Pick::Settled => {
                diesel::sql_query(PICK_SETTLED.as_str())
                    .bind::<BigInt, _>(BATCH)
                    .bind::<diesel::sql_types::Double, _>(QUIET_FOR.as_secs_f64())
                    .load(conn)
                    .await?
            }
        };
        if picked.is_empty() {
            return Ok(Summarized::default());
        }
        let ids: Vec<i64> = picked.into_iter().map(|p| p.id).collect();
        for step in STEPS.iter() {
            diesel::sql_query(step.as_str())
                .bind::<Array<BigInt>, _>(&ids)
                .execute(conn)
                .await?;
        }
        let untold: Vec<FinishedBroadcast> = diesel::sql_query(UNTOLD)
            .bind::<Array<BigInt>, _>(&ids)
            .load(conn)
            .await?;
        let mut notices = Vec::new();
        for broadcast in &untold {
            let sender = Audience::Users(vec![broadcast.sender_id]);
            notices
                .extend(notifications::create(conn, &sender, &notice(broadcast), None, now).await?);
        }
        Ok(Summarized {
            messages: ids.len(),
            notices,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_partial_index_is_on_the_condition_summaries_look_for() {
        let migration =
            include_str!("../../migrations/2026-12-04-000015_delivery_analytics/up.sql");
        let index = migration
            .split("CREATE INDEX messages_to_summarize")
            .nth(1)
            .expect("the migration makes the index");
        let predicate = index.split(';').next().unwrap();
        assert!(
            predicate.contains(&format!("sent_count IS NULL AND {}", super::finished_sql())),
            "{predicate}"
        );
    }
}
