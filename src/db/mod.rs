//! PostgreSQL: the pool, creating the database if it is missing, and the embedded migrations.
//! One submodule per aggregate holds its queries.

pub mod audience;
pub mod breaker_orders;
pub mod carrier_lookups;
pub mod chat;
pub mod chat_mentions;
pub mod churches;
pub mod conversations;
pub mod cursor;
pub mod dead_letters;
pub mod delivery_analytics;
pub mod delivery_summaries;
pub mod groups;
pub mod idempotency;
pub mod inbound;
pub mod members;
pub mod message_history;
pub mod messages;
pub mod new_message;
pub mod nodes;
pub mod notification_mail;
pub mod notification_preferences;
pub mod notification_send_detail;
pub mod notification_sends;
pub mod notification_stats;
pub mod notification_templates;
pub mod notification_texts;
pub mod notifications;
pub mod outbox;
pub mod pipelined;
pub mod prepared;
pub mod quiet_hours;
pub mod redrive;
pub mod reports;
pub mod schema;
pub mod sign_in_addresses;
pub mod totals;
pub mod users;
pub mod webhook_events;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("the database holds what the code does not know: {0}")]
    Corrupt(String),
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub async fn get(pool: &DbPool) -> Result<DbConn, DbError> {
    pool.get().await.map_err(|e| DbError::Pool(e.to_string()))
}

/// Whether the database answers a query.
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = get(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

/// Connects to `database_url`, creating the database first if it does not exist, and runs
/// pending migrations.
///
/// Pooled connections are handed out without a `SELECT 1` first (`RecyclingMethod::Fast`):
/// during a broadcast that ping was a third of all statements. A connection whose socket the
/// server closed (a restart) is still detected and replaced, as it reports itself closed.
///
/// Each connection turns PostgreSQL's JIT compilation off: every query Belfry runs is short,
/// and a cost estimate inflated by stale statistics made the server spend a third of a second
/// compiling a query that then ran in a millisecond.
pub async fn connect_and_migrate(database_url: &str, max_size: usize) -> Result<DbPool, DbError> {
    create_database_if_missing(database_url).await?;
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            diesel::sql_query("SET jit TO off")
                .execute(&mut conn)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Connect(e.to_string()))?;
    migrate(&pool).await?;
    Ok(pool)
}

pub async fn migrate(pool: &DbPool) -> Result<(), DbError> {
    let conn = get(pool).await?;
    // The harness blocks in place; this needs the multi-thread runtime.
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| DbError::Migrate(e.to_string()))?;
    Ok(())
}

/// The database name and the URL of the maintenance database on the same server.
fn split_database_url(database_url: &str) -> Result<(String, String), DbError> {
    let mut url =
        url::Url::parse(database_url).map_err(|e| DbError::Connect(format!("bad URL: {e}")))?;
    let name = url.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(DbError::Connect("the URL names no database".to_owned()));
    }
    url.set_path("/postgres");
    Ok((name, url.to_string()))
}

pub async fn create_database_if_missing(database_url: &str) -> Result<(), DbError> {
    if AsyncPgConnection::establish(database_url).await.is_ok() {
        return Ok(());
    }
    let (name, admin_url) = split_database_url(database_url)?;
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|e| DbError::Connect(e.to_string()))?;
    let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match diesel::sql_query(create).execute(&mut admin).await {
        Ok(_) => Ok(()),
        // Another process created it first.
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") =>
        {
            Ok(())
        }
        Err(e) => Err(DbError::Connect(format!("creating database {name}: {e}"))),
    }
}

/// Drops a database; used by tests to clean up after themselves.
pub async fn drop_database(database_url: &str) -> Result<(), DbError> {
    let (name, admin_url) = split_database_url(database_url)?;
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|e| DbError::Connect(e.to_string()))?;
    let drop = format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        name.replace('"', "\"\"")
    );
    diesel::sql_query(drop).execute(&mut admin).await?;
    Ok(())
}
