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
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::messages::Applied;
use super::{DbError, DbPool, get};

/// A pool whose connections commit without waiting for the WAL flush. Only for derived data.
pub fn counters_pool(database_url: &str, max_size: usize) -> Result<DbPool, DbError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // No ping before each use, as for the main pool (see `db::connect_and_migrate`).
    config.recycling_method = RecyclingMethod::Fast;
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

/// `sending` until every recipient is final, then `delivered`, `failed`, or `completed` (some
/// of each).
pub fn message_status(recipients: i32, delivered: i32, failed: i32) -> &'static str {
    if delivered + failed < recipients {
        "sending"
    } else if failed == 0 {
        "delivered"
    } else if delivered == 0 {
        "failed"
    } else {
        "completed"
    }
}

/// [`message_status`] as SQL, over the given expressions.
pub fn status_sql(recipients: &str, delivered: &str, failed: &str) -> String {
    format!(
        "CASE WHEN {delivered} + {failed} < {recipients} THEN 'sending' \
         WHEN {failed} = 0 THEN 'delivered' WHEN {delivered} = 0 THEN 'failed' \
         ELSE 'completed' END"
    )
}

/// Counts an applied transition into its message's totals and returns the event to publish.
pub async fn record(counters: &DbPool, applied: &Applied) -> Result<MessageEvent, DbError> {
    let (delivered, failed) = match (applied.status.is_final(), applied.status.is_failure()) {
        (true, false) => (1, 0),
        (true, true) => (0, 1),
        _ => (0, 0),
    };
    use super::schema::messages::dsl as m;
    let mut conn = get(counters).await?;
    let (church_id, recipient_count, delivered_count, failed_count, old_status): (
        i64,
        i32,
        i32,
        i32,
        String,
    ) = diesel::update(m::messages.find(applied.message_id))
        .set((
            m::delivered_count.eq(m::delivered_count + delivered),
            m::failed_count.eq(m::failed_count + failed),
            m::updated_at.eq(chrono::Utc::now()),
        ))
        .returning((
            m::church_id,
            m::recipient_count,
            m::delivered_count,
            m::failed_count,
            m::status,
        ))
        .get_result(&mut conn)
        .await?;
    let status = message_status(recipient_count, delivered_count, failed_count);
    if status != old_status {
        // Only if no later change moved the totals on: the last writer is the latest state.
        diesel::update(
            m::messages
                .find(applied.message_id)
                .filter(m::delivered_count.eq(delivered_count))
                .filter(m::failed_count.eq(failed_count)),
        )
        .set(m::status.eq(status))
        .execute(&mut conn)
        .await?;
    }
    Ok(MessageEvent {
        kind: MessageEvent::kind_for(applied.status.as_str()).to_owned(),
        message_id: applied.message_id,
        recipient_id: applied.recipient_id,
        member_id: applied.member_id,
        status: applied.status.as_str().to_owned(),
        message_status: status.to_owned(),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        recipient_count: recipient_count.into(),
        delivered_count: delivered_count.into(),
        failed_count: failed_count.into(),
        failure_reason: applied.failure_reason.clone(),
        church_id,
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

#[cfg(test)]
mod tests {
    use super::message_status;

    #[test]
    fn message_status_follows_totals() {
        assert_eq!(message_status(3, 0, 0), "sending");
        assert_eq!(message_status(3, 2, 0), "sending");
        assert_eq!(message_status(3, 3, 0), "delivered");
        assert_eq!(message_status(3, 0, 3), "failed");
        assert_eq!(message_status(3, 2, 1), "completed");
    }
}
