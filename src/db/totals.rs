//! A message's running totals (delivered, failed, status) and the event each change publishes.
//!
//! Every recipient transition updates its message's row, so at thousands of transitions a
//! second that one row is the hottest in the database. The update runs on its own connection
//! pool with `synchronous_commit = off`: the row lock is then held for microseconds instead of
//! a WAL flush, and the transitions of one message still serialise on it, so every event
//! carries exact, increasing totals. The totals are derived data: the recipient rows, committed
//! durably before, are the truth, and [`repair`] recomputes recent totals at start-up in case a
//! database crash lost the last asynchronous commits.

use belfry_actors::events::MessageEvent;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::messages::Applied;
use super::{DbError, DbPool, get};

/// A pool whose connections commit without waiting for the WAL flush. Only for derived data.
pub fn counters_pool(database_url: &str, max_size: usize) -> Result<DbPool, DbError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            diesel::sql_query("SET synchronous_commit TO off")
                .execute(&mut conn)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Connect(e.to_string()))
}

#[derive(diesel::QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    church_id: i64,
    #[diesel(sql_type = Integer)]
    recipient_count: i32,
    #[diesel(sql_type = Integer)]
    delivered_count: i32,
    #[diesel(sql_type = Integer)]
    failed_count: i32,
    #[diesel(sql_type = Text)]
    status: String,
}

/// Counts an applied transition into its message's totals and returns the event to publish.
pub async fn record(counters: &DbPool, applied: &Applied) -> Result<MessageEvent, DbError> {
    let (delivered, failed) = match (applied.status.is_final(), applied.status.is_failure()) {
        (true, false) => (1, 0),
        (true, true) => (0, 1),
        _ => (0, 0),
    };
    let mut conn = get(counters).await?;
    // Expressions in SET see the old row, so the status is computed from the incremented
    // values: `sending` until every recipient is final, then `delivered`, `failed`, or
    // `completed` (some of each).
    let totals: Totals = diesel::sql_query(
        "UPDATE messages SET
           delivered_count = delivered_count + $2,
           failed_count = failed_count + $3,
           updated_at = now(),
           status = CASE
             WHEN delivered_count + $2 + failed_count + $3 < recipient_count THEN 'sending'
             WHEN failed_count + $3 = 0 THEN 'delivered'
             WHEN delivered_count + $2 = 0 THEN 'failed'
             ELSE 'completed' END
         WHERE id = $1
         RETURNING church_id, recipient_count, delivered_count, failed_count, status",
    )
    .bind::<BigInt, _>(applied.message_id)
    .bind::<Integer, _>(delivered)
    .bind::<Integer, _>(failed)
    .get_result(&mut conn)
    .await?;
    Ok(MessageEvent {
        kind: MessageEvent::kind_for(applied.status.as_str()).to_owned(),
        message_id: applied.message_id,
        recipient_id: applied.recipient_id,
        member_id: applied.member_id,
        status: applied.status.as_str().to_owned(),
        message_status: totals.status,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        recipient_count: totals.recipient_count.into(),
        delivered_count: totals.delivered_count.into(),
        failed_count: totals.failed_count.into(),
        failure_reason: applied.failure_reason.clone(),
        church_id: totals.church_id,
    })
}

/// Recomputes the totals of messages touched in the last day from their recipients.
pub async fn repair(pool: &DbPool) -> Result<usize, DbError> {
    let mut conn = get(pool).await?;
    let query = "UPDATE messages m SET delivered_count = t.delivered, failed_count = t.failed, status = \
         CASE WHEN t.delivered + t.failed < m.recipient_count THEN \
           CASE WHEN t.touched THEN 'sending' ELSE m.status END \
         WHEN t.failed = 0 THEN 'delivered' WHEN t.delivered = 0 THEN 'failed' ELSE 'completed' END \
         FROM (SELECT message_id, \
                 count(*) FILTER (WHERE status = 'delivered')::int AS delivered, \
                 count(*) FILTER (WHERE status_rank = 5 AND status <> 'delivered')::int AS failed, \
                 bool_or(status <> 'pending') AS touched \
               FROM message_recipients WHERE message_id IN \
                 (SELECT id FROM messages WHERE updated_at > now() - interval '1 day') \
               GROUP BY message_id) t \
         WHERE m.id = t.message_id \
           AND (m.delivered_count, m.failed_count) IS DISTINCT FROM (t.delivered, t.failed)";
    Ok(diesel::sql_query(query).execute(&mut conn).await?)
}
