//! The pipelined transaction against a real database: what it commits is there, what fails is
//! rolled back, and a connection never goes back to the pool inside a transaction.

use belfry::db::{self, DbPool, pipelined::PipelinedTransaction};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::helpers::fresh_database_url;

async fn insert_church(mut conn: &AsyncPgConnection, name: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query("INSERT INTO churches (name) VALUES ($1)")
        .bind::<Text, _>(name)
        .execute(&mut conn)
        .await
}

/// Counts churches by that name as another connection sees them.
async fn visible(url: &str, name: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut other = AsyncPgConnection::establish(url).await.unwrap();
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM churches WHERE name = $1")
        .bind::<Text, _>(name)
        .get_result(&mut other)
        .await
        .unwrap();
    count.n
}

async fn one_connection_pool() -> (String, DbPool) {
    let url = fresh_database_url().await;
    let pool = db::connect_and_migrate(&url, 1).await.unwrap();
    (url, pool)
}

#[tokio::test(flavor = "multi_thread")]
async fn what_it_commits_is_there() {
    let (url, pool) = one_connection_pool().await;
    let tx = PipelinedTransaction::new(db::get(&pool).await.unwrap());
    let conn = tx.conn();
    let work = async {
        futures_util::try_join!(tx.begin(), insert_church(conn, "First"))?;
        insert_church(conn, "Second").await?;
        Ok(())
    }
    .await;
    tx.finish(work).await.unwrap();
    assert_eq!(visible(&url, "First").await, 1);
    assert_eq!(visible(&url, "Second").await, 1);
    db::drop_database(&url).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_statement_rolls_everything_back_and_the_connection_is_clean() {
    let (url, pool) = one_connection_pool().await;
    let tx = PipelinedTransaction::new(db::get(&pool).await.unwrap());
    let conn = tx.conn();
    let work = async {
        futures_util::try_join!(tx.begin(), insert_church(conn, "Kept?"))?;
        // The second insert breaks the unique name.
        insert_church(conn, "Kept?").await?;
        Ok(())
    }
    .await;
    assert!(tx.finish(work).await.is_err());
    assert_eq!(visible(&url, "Kept?").await, 0);

    // The pool's only connection is back and not inside a transaction: what it writes now is
    // committed at once and seen by others.
    let conn = db::get(&pool).await.unwrap();
    insert_church(&conn, "After").await.unwrap();
    drop(conn);
    assert_eq!(visible(&url, "After").await, 1);
    db::drop_database(&url).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_half_way_the_connection_leaves_the_pool() {
    let (url, pool) = one_connection_pool().await;
    {
        let tx = PipelinedTransaction::new(db::get(&pool).await.unwrap());
        let conn = tx.conn();
        futures_util::try_join!(tx.begin(), insert_church(conn, "Abandoned")).unwrap();
        // Dropped without `finish`, as when a task is cancelled.
    }
    assert_eq!(
        pool.status().size,
        0,
        "the open transaction's connection is gone"
    );
    let conn = db::get(&pool).await.unwrap();
    insert_church(&conn, "Fresh").await.unwrap();
    drop(conn);
    assert_eq!(visible(&url, "Fresh").await, 1);
    assert_eq!(visible(&url, "Abandoned").await, 0);
    db::drop_database(&url).await.unwrap();
}
