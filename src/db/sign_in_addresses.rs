//! The addresses each user has signed in from: a sign-in from one they never used before (when
//! they have used others) is worth telling them about.

use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};

#[derive(diesel::QueryableByName)]
struct Seen {
    #[diesel(sql_type = Bool)]
    new_address: bool,
}

/// Records a sign-in of `user_id` from `address`; whether it is the first from there after
/// sign-ins from elsewhere (a user's very first sign-in is not news).
pub async fn record(pool: &DbPool, user_id: i64, address: &str) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let seen: Seen = diesel::sql_query(
        "WITH earlier AS (SELECT count(*) AS n FROM sign_in_addresses WHERE user_id = $1), \
         kept AS ( \
             INSERT INTO sign_in_addresses (user_id, address) VALUES ($1, $2) \
             ON CONFLICT (user_id, address) DO UPDATE SET last_at = now() \
             RETURNING (xmax = 0) AS inserted) \
         SELECT COALESCE((SELECT inserted FROM kept), false) \
             AND (SELECT n FROM earlier) > 0 AS new_address",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Text, _>(address)
    .get_result(&mut conn)
    .await?;
    Ok(seen.new_address)
}
