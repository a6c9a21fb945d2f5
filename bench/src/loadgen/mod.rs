//! What the load generators share: a database of their own for each run.

/// `DATABASE_URL`'s server (default 127.0.0.1:5432) with a database named for this run.
pub fn database_url(prefix: &str) -> String {
    named_database_url(&format!("{prefix}_{}", std::process::id()))
}

/// `DATABASE_URL`'s server with the database `name`.
pub fn named_database_url(name: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| belfry::config::DEFAULT_DATABASE_URL.into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Creates churches `1..=churches` and staff users `1..=users` (user `u` in church
/// `(u - 1) % churches + 1`) straight in the database, for load generators that mint their own
/// tokens: every request's user must exist, and hashing thousands of passwords would take
/// minutes. Nobody can sign in as them.
pub async fn seed_staff(database_url: &str, users: i64, churches: i64) {
    use diesel_async::RunQueryDsl;
    let pool = belfry::db::connect_and_migrate(database_url, 1)
        .await
        .expect("bench database");
    let mut conn = pool.get().await.expect("connection");
    for statement in [
        format!(
            "INSERT INTO churches (id, name) SELECT g, 'Bench church ' || g \
             FROM generate_series(1, {churches}) g ON CONFLICT DO NOTHING"
        ),
        format!(
            "INSERT INTO users (id, church_id, email, name, role, password_hash) \
             SELECT g, (g - 1) % {churches} + 1, 'user' || g || '@bench.test', 'Bench user', \
             'staff', 'no password' FROM generate_series(1, {users}) g ON CONFLICT DO NOTHING"
        ),
    ] {
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .expect("seeding");
    }
}

/// A token subject for a user [`seed_staff`] made.
pub fn seeded_staff(user: i64, churches: i64) -> belfry::auth::TokenSubject {
    belfry::auth::TokenSubject {
        user_id: user,
        church_id: Some((user - 1) % churches + 1),
        role: belfry::domain::Role::Staff,
        token_version: 0,
    }
}
