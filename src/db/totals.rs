//! A message's running totals (delivered, failed, status) and the event each change publishes.
//!
//! Every recipient transition updates its message's row, so at thousands of transitions a
//! second that one row is the hottest in the database. The update runs on its own connection
//! pool with `synchronous_commit = off`: the row lock is then held for microseconds instead of
//! a WAL flush, and the transitions of one message still serialise on it, so every event
//! carries exact, increasing totals. The totals are derived data: the recipient rows, committed
//! durably before, are the truth, and [`repair`] recomputes recent totals at start-up in case a
//! database crash lost the last asynchronous commits.

use belfry_actors::protocol::MessageEvent;
use belfry_actors::status::{MessageStatus, RecipientStatus, Totals};
use diesel::prelude::*;
use diesel::sql_types::{SmallInt, Text};
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
            for setting in ["SET synchronous_commit TO off", "SET jit TO off"] {
                diesel::sql_query(setting)
                    .execute(&mut conn)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Connect(e.to_string()))
}

/// Counts an applied transition into its message's totals and returns the event to publish.
pub async fn record(counters: &DbPool, applied: &Applied) -> Result<MessageEvent, DbError> {
    let (delivered, failed) = applied.status.counts_as().increments();
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
            m::delivered_count.eq(m::delivered_count + delivered as i32),
            m::failed_count.eq(m::failed_count + failed as i32),
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
    let totals = Totals {
        church_id,
        recipients: recipient_count.into(),
        delivered: delivered_count.into(),
        failed: failed_count.into(),
    };
    let status = totals.message_status();
    if status.as_str() != old_status {
        // Only if no later change moved the totals on: the last writer is the latest state.
        diesel::update(
            m::messages
                .find(applied.message_id)
                .filter(m::delivered_count.eq(delivered_count))
                .filter(m::failed_count.eq(failed_count)),
        )
        .set(m::status.eq(status.as_str()))
        .execute(&mut conn)
        .await?;
    }
    let timestamp = belfry_actors::protocol::timestamp();
    Ok(MessageEvent::new(&applied.transition(), &totals, timestamp))
}

/// Recomputes the totals of messages touched in the last day from their recipients (a message
/// whose totals change is summarized again, see `delivery_summaries`).
pub async fn repair(pool: &DbPool) -> Result<usize, DbError> {
    let mut conn = get(pool).await?;
    // A message none of whose recipients has moved keeps its status.
    let query = format!(
        "UPDATE messages m SET delivered_count = t.delivered, failed_count = t.failed, status = \
           CASE WHEN t.touched THEN {} ELSE m.status END, \
           sent_count = NULL \
         FROM (SELECT message_id, \
                 count(*) FILTER (WHERE status = $1)::int AS delivered, \
                 count(*) FILTER (WHERE status_rank = $2 AND status <> $1)::int AS failed, \
                 bool_or(status <> $3) AS touched \
               FROM message_recipients WHERE message_id IN \
                 (SELECT id FROM messages WHERE updated_at > now() - interval '1 day') \
               GROUP BY message_id) t \
         WHERE m.id = t.message_id \
           AND (m.delivered_count, m.failed_count) IS DISTINCT FROM (t.delivered, t.failed)",
        MessageStatus::sql_from_totals("m.recipient_count", "t.delivered", "t.failed")
    );
    Ok(diesel::sql_query(query)
        .bind::<Text, _>(RecipientStatus::Delivered.as_str())
        .bind::<SmallInt, _>(RecipientStatus::FINAL_RANK)
        .bind::<Text, _>(RecipientStatus::Pending.as_str())
        .execute(&mut conn)
        .await?)
}
