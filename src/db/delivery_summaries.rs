//! Summaries of finished messages, for delivery analytics: how many recipients the carrier
//! accepted (`messages.sent_count`) and the failures by code (`message_failure_codes`).
//!
//! A message's delivered and failed totals are kept as it goes (see [`super::totals`]), but
//! "accepted by the carrier" and "failed with which code" would have to be counted from its
//! recipient rows, which a year of analytics cannot read. Once every recipient is final those
//! figures never change again, so they are counted once, here, off the sending path: each node
//! summarizes what has finished every second, skipping rows another node holds. Until then
//! (and again after a dead letter is retried, which clears `sent_count`) the analytics count
//! the few unfinished messages from their recipients.

use std::sync::LazyLock;

use belfry_actors::status::{MessageStatus, RecipientStatus, failure_code};
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::{DbError, DbPool, get};

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

static PICK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM messages WHERE sent_count IS NULL AND {} \
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        finished_sql()
    )
});

static COUNT_CODES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO message_failure_codes (message_id, code, example, count) \
         SELECT message_id, code, example, n FROM ( \
             {select}, r.message_id FROM message_recipients r \
             WHERE r.message_id = ANY($1) AND {failed} GROUP BY r.message_id, 1) c",
        select = failure_codes_select(),
        failed = failed_recipient_sql()
    )
});

#[derive(diesel::QueryableByName)]
struct Picked {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Summarizes up to [`BATCH`] finished messages; how many it did.
pub async fn summarize_finished(pool: &DbPool) -> Result<usize, DbError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, DbError, _>(async |conn| {
        let picked: Vec<Picked> = diesel::sql_query(PICK.as_str())
            .bind::<BigInt, _>(BATCH)
            .load(conn)
            .await?;
        if picked.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = picked.into_iter().map(|p| p.id).collect();
        // A message summarized before it was retried keeps its old codes until now.
        diesel::sql_query("DELETE FROM message_failure_codes WHERE message_id = ANY($1)")
            .bind::<Array<BigInt>, _>(&ids)
            .execute(conn)
            .await?;
        diesel::sql_query(COUNT_CODES.as_str())
            .bind::<Array<BigInt>, _>(&ids)
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE messages m SET sent_count = s.sent \
             FROM (SELECT p.id, count(r.accepted_at)::int AS sent \
                   FROM unnest($1::bigint[]) AS p(id) \
                   LEFT JOIN message_recipients r ON r.message_id = p.id GROUP BY p.id) s \
             WHERE m.id = s.id",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .execute(conn)
        .await?;
        Ok(ids.len())
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
