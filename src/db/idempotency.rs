//! Idempotency keys for `POST /api/messages`: the same key and the same request from the same
//! user within 24 hours is answered with the first message instead of a new send.

use super::prepared::Prepare;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::idempotency_keys;

pub const KEY_LIFETIME_HOURS: i64 = 24;

pub struct Stored {
    pub request: String,
    pub response: String,
}

/// Serialises requests with the same key until the transaction ends, then returns the live
/// record for the key, if any (an expired one is deleted).
pub async fn lock_and_find(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    key: &str,
) -> Result<Option<Stored>, diesel::result::Error> {
    use idempotency_keys::dsl as k;
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("idempotency:{user_id}:{key}"))
        .prepared()
        .execute(conn)
        .await?;
    let cutoff = chrono::Utc::now() - chrono::Duration::hours(KEY_LIFETIME_HOURS);
    diesel::delete(
        k::idempotency_keys
            .filter(k::user_id.eq(user_id))
            .filter(k::key.eq(key))
            .filter(k::created_at.lt(cutoff)),
    )
    .execute(conn)
    .await?;
    let found: Option<(String, String)> = k::idempotency_keys
        .filter(k::user_id.eq(user_id))
        .filter(k::key.eq(key))
        .select((k::request, k::response))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(request, response)| Stored { request, response }))
}

pub async fn remember(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    key: &str,
    request: &str,
    message_id: i64,
    response: &str,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request.eq(request),
            idempotency_keys::message_id.eq(message_id),
            idempotency_keys::response.eq(response),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
