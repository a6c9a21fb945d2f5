//! Recipients waiting for the carrier to be asked about them: accepted, and no settling report
//! (final, or given up on as unconfirmed) within the reconciler's wait. `lookup_since` is when
//! each started waiting (its acceptance, or its last look) and is cleared once it settles, so
//! the partial index `message_recipients_lookup` holds only the ones still waiting.

use std::time::Duration;

use belfry_actors::ports::{LookupRound, Unsettled};
use belfry_actors::status::RecipientStatus;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, SmallInt, Text};
use diesel_async::RunQueryDsl;

use super::prepared::Prepare;
use super::{DbError, DbPool, get};

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Nullable<Text>)]
    provider_message_id: Option<String>,
    #[diesel(sql_type = SmallInt)]
    status_rank: i16,
    #[diesel(sql_type = Double)]
    accepted_secs: f64,
}

/// Takes up to `limit` recipients that have waited at least `after`, oldest first: the
/// unsettled ones start waiting again now, the settled ones stop waiting. `SKIP LOCKED` lets
/// several nodes share the work without taking the same row.
pub async fn take(pool: &DbPool, after: Duration, limit: usize) -> Result<LookupRound, DbError> {
    let mut conn = get(pool).await?;
    let taken: Vec<Taken> = diesel::sql_query(
        "WITH due AS (
             SELECT id FROM message_recipients
             WHERE lookup_since IS NOT NULL AND lookup_since <= now() - make_interval(secs => $1)
             ORDER BY lookup_since
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         UPDATE message_recipients r
         SET lookup_since = CASE WHEN r.status_rank >= $3 THEN NULL ELSE now() END
         FROM due
         WHERE r.id = due.id
         RETURNING r.provider_message_id, r.status_rank,
                   EXTRACT(EPOCH FROM now() - COALESCE(r.accepted_at, now()))::float8
                       AS accepted_secs",
    )
    .bind::<Double, _>(after.as_secs_f64())
    .bind::<BigInt, _>(limit as i64)
    .bind::<SmallInt, _>(RecipientStatus::SETTLED_RANK)
    .prepared()
    .load(&mut conn)
    .await?;
    let taken_count = taken.len();
    let unsettled = taken
        .into_iter()
        .filter(|t| t.status_rank < RecipientStatus::SETTLED_RANK)
        .filter_map(|t| {
            Some(Unsettled {
                provider_message_id: t.provider_message_id?,
                accepted_for: Duration::from_secs_f64(t.accepted_secs.max(0.0)),
            })
        })
        .collect();
    Ok(LookupRound {
        taken: taken_count,
        unsettled,
    })
}
