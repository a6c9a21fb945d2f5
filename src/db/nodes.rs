//! The nodes sharing this database: each registers at start, beats every few seconds with what
//! it holds, and marks itself stopped on a clean shutdown. A node is alive while its last beat
//! is younger than the lease; the outbox's recovery reads the same rule (see `db::outbox`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use super::{DbError, DbPool, get};

/// This node's id and the lease its heartbeat keeps.
#[derive(Debug, Clone)]
pub struct NodeLease {
    pub id: std::sync::Arc<str>,
    pub lease: Duration,
}

/// A node as operators see it.
#[derive(Debug, Clone, Serialize, ToSchema, diesel::QueryableByName)]
#[serde(rename_all = "camelCase")]
pub struct NodeView {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub version: String,
    #[diesel(sql_type = Timestamptz)]
    pub started_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub heartbeat_at: DateTime<Utc>,
    /// Open WebSockets at its last beat.
    #[diesel(sql_type = Integer)]
    pub sockets: i32,
    /// Rooms with an actor at its last beat.
    #[diesel(sql_type = Integer)]
    pub rooms: i32,
    /// Whether it reached Redis at its last beat: `off` (no `BELFRY_REDIS_URL`), `up`, `down`.
    #[diesel(sql_type = Text)]
    pub redis: String,
    /// Beat within the lease and not stopped.
    #[diesel(sql_type = Bool)]
    pub alive: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub stopped_at: Option<DateTime<Utc>>,
}

/// The SQL condition that node `id` (an SQL expression) is alive, its lease being `lease`
/// seconds (an SQL expression): the one home of the rule.
pub fn alive(id: &str, lease: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM nodes alive_node WHERE alive_node.id = {id} \
             AND alive_node.stopped_at IS NULL \
             AND alive_node.heartbeat_at > now() - make_interval(secs => {lease}))"
    )
}

/// Registers node `id` as just started (again, if it ran before under this id).
pub async fn register(pool: &DbPool, id: &str, version: &str) -> Result<(), DbError> {
    let mut conn = get(pool).await?;
    diesel::sql_query(
        "INSERT INTO nodes (id, version) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, started_at = now(), \
             heartbeat_at = now(), sockets = 0, rooms = 0, stopped_at = NULL",
    )
    .bind::<Text, _>(id)
    .bind::<Text, _>(version)
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// What a node says of itself at each beat.
#[derive(Debug, Clone, Copy)]
pub struct Beat {
    pub sockets: usize,
    pub rooms: usize,
    /// `off`, `up` or `down`.
    pub redis: &'static str,
}

/// The node's beat, with what it holds now.
pub async fn beat(pool: &DbPool, id: &str, beat: Beat) -> Result<(), DbError> {
    let mut conn = get(pool).await?;
    diesel::sql_query(
        "UPDATE nodes SET heartbeat_at = now(), sockets = $2, rooms = $3, redis = $4, \
             stopped_at = NULL \
         WHERE id = $1",
    )
    .bind::<Text, _>(id)
    .bind::<Integer, _>(beat.sockets.min(i32::MAX as usize) as i32)
    .bind::<Integer, _>(beat.rooms.min(i32::MAX as usize) as i32)
    .bind::<Text, _>(beat.redis)
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// A clean shutdown: the node's claims may be recovered at once.
pub async fn stopped(pool: &DbPool, id: &str) -> Result<(), DbError> {
    let mut conn = get(pool).await?;
    diesel::sql_query("UPDATE nodes SET stopped_at = now() WHERE id = $1")
        .bind::<Text, _>(id)
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Every node that beat within `keep` (alive or not), newest start first.
pub async fn list(
    pool: &DbPool,
    lease: Duration,
    keep: Duration,
) -> Result<Vec<NodeView>, DbError> {
    let mut conn = get(pool).await?;
    let sql = format!(
        "SELECT id, version, started_at, heartbeat_at, sockets, rooms, redis, stopped_at, \
             {alive} AS alive \
         FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $2) \
         ORDER BY started_at DESC, id LIMIT $3",
        alive = alive("nodes.id", "$1")
    );
    let nodes = diesel::sql_query(sql)
        .bind::<Double, _>(lease.as_secs_f64())
        .bind::<Double, _>(keep.as_secs_f64())
        .bind::<BigInt, _>(1000)
        .load(&mut conn)
        .await?;
    Ok(nodes)
}
