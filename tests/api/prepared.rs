//! Raw SQL wrapped in `Prepared` is prepared once per connection and reused.

use belfry::db::{self, prepared::Prepare};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::helpers::fresh_database_url;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Named statements this connection holds whose text contains `marker`.
async fn prepared_on(conn: &mut AsyncPgConnection, marker: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%' || $1 || '%' \
         AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .bind::<Text, _>(marker)
    .get_result::<Count>(conn)
    .await
    .unwrap()
    .n
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prepared_raw_statement_is_cached_and_a_plain_one_is_not() {
    let url = fresh_database_url().await;
    db::create_database_if_missing(&url).await.unwrap();
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    for n in 0..3_i64 {
        let got: Count = diesel::sql_query("SELECT $1::bigint AS n /* cached-marker */")
            .bind::<BigInt, _>(n)
            .prepared()
            .get_result(&mut conn)
            .await
            .unwrap();
        assert_eq!(got.n, n);
        diesel::sql_query("SELECT $1::bigint AS n /* plain-marker */")
            .bind::<BigInt, _>(n)
            .get_result::<Count>(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(prepared_on(&mut conn, "cached-marker").await, 1);
    assert_eq!(prepared_on(&mut conn, "plain-marker").await, 0);
    drop(conn);
    db::drop_database(&url).await.unwrap();
}
