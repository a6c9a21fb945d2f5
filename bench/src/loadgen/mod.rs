//! What the load generators share: a database of their own for each run.

/// `DATABASE_URL`'s server (default 127.0.0.1:5432) with a database named for this run.
pub fn database_url(prefix: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| belfry::config::DEFAULT_DATABASE_URL.into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL");
    url.set_path(&format!("/{prefix}_{}", std::process::id()));
    url.to_string()
}
