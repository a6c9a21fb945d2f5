//! Each user's notification preferences, stored whole (`notification_preferences.settings`);
//! a user without a row has the defaults in their church's time zone.

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{DbError, DbPool, get};
use crate::domain::{PreferenceError, Preferences};

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = Nullable<Jsonb>)]
    settings: Option<serde_json::Value>,
    #[diesel(sql_type = Text)]
    timezone: String,
}

/// The user's preferences, defaults filled in; `None` if there is no such user.
pub async fn of(pool: &DbPool, user_id: i64) -> Result<Option<Preferences>, DbError> {
    let mut conn = get(pool).await?;
    read(&mut conn, user_id).await
}

async fn read(conn: &mut AsyncPgConnection, user_id: i64) -> Result<Option<Preferences>, DbError> {
    let found: Vec<Stored> = diesel::sql_query(
        "SELECT p.settings, COALESCE(c.timezone, 'UTC') AS timezone FROM users u \
         LEFT JOIN churches c ON c.id = u.church_id \
         LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind::<BigInt, _>(user_id)
    .load(conn)
    .await?;
    Ok(found
        .into_iter()
        .next()
        .map(|s| Preferences::stored_or_default(s.settings, &s.timezone)))
}

/// What a change of the user's preferences came to.
pub enum Changed {
    Saved(Preferences),
    Refused(PreferenceError),
    NoSuchUser,
}

/// Reads the user's preferences, applies `change` and stores the result, one change of a user
/// at a time (two tabs saving at once do not undo each other).
pub async fn change(
    pool: &DbPool,
    user_id: i64,
    change: impl FnOnce(&Preferences) -> Result<Preferences, PreferenceError> + Send,
) -> Result<Changed, DbError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, DbError, _>(async |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(format!("notification-preferences:{user_id}"))
            .execute(conn)
            .await?;
        let Some(current) = read(conn, user_id).await? else {
            return Ok(Changed::NoSuchUser);
        };
        let next = match change(&current) {
            Ok(next) => next,
            Err(refused) => return Ok(Changed::Refused(refused)),
        };
        let settings = serde_json::to_value(&next)
            .map_err(|e| DbError::Corrupt(format!("preferences not serializable: {e}")))?;
        diesel::sql_query(
            "INSERT INTO notification_preferences (user_id, settings) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()",
        )
        .bind::<BigInt, _>(user_id)
        .bind::<Jsonb, _>(&settings)
        .execute(conn)
        .await?;
        Ok(Changed::Saved(next))
    })
    .await
}
