//! Operators' orders to the carrier breaker, kept so that every node follows them (see
//! `crate::breaker_orders`).

use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};

#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct BreakerOrder {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `forced_open`, `disabled` or `closed`.
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Records an operator's order; returns it.
pub async fn record(pool: &DbPool, state: &str, by: Option<i64>) -> Result<BreakerOrder, DbError> {
    let mut conn = get(pool).await?;
    let order = diesel::sql_query(
        "INSERT INTO breaker_orders (state, by_user) VALUES ($1, $2) RETURNING id, state",
    )
    .bind::<Text, _>(state)
    .bind::<Nullable<BigInt>, _>(by)
    .get_result(&mut conn)
    .await?;
    Ok(order)
}

/// The newest order, if any was ever given.
pub async fn latest(pool: &DbPool) -> Result<Option<BreakerOrder>, DbError> {
    let mut conn = get(pool).await?;
    let order = diesel::sql_query("SELECT id, state FROM breaker_orders ORDER BY id DESC LIMIT 1")
        .get_result(&mut conn)
        .await
        .optional()?;
    Ok(order)
}
