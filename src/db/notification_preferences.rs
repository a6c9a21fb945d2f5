//! Each user's notification preferences, stored whole (`notification_preferences.settings`);
//! a user without a row has the defaults in their church's time zone.

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};
use crate::domain::Preferences;

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
    let found: Vec<Stored> = diesel::sql_query(
        "SELECT p.settings, COALESCE(c.timezone, 'UTC') AS timezone FROM users u \
         LEFT JOIN churches c ON c.id = u.church_id \
         LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind::<BigInt, _>(user_id)
    .load(&mut conn)
    .await?;
    Ok(found
        .into_iter()
        .next()
        .map(|s| Preferences::stored_or_default(s.settings, &s.timezone)))
}

pub async fn save(pool: &DbPool, user_id: i64, preferences: &Preferences) -> Result<(), DbError> {
    let settings = serde_json::to_value(preferences)
        .map_err(|e| DbError::Corrupt(format!("preferences not serializable: {e}")))?;
    let mut conn = get(pool).await?;
    diesel::sql_query(
        "INSERT INTO notification_preferences (user_id, settings) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Jsonb, _>(&settings)
    .execute(&mut conn)
    .await?;
    Ok(())
}
