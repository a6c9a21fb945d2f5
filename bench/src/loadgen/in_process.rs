//! What the benchmarks that run the server in their own process share: starting it on a
//! database, counting rows, timing sequential GETs, and the figures taken from those times.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use belfry::app::{Application, ShutdownHandle};
use belfry::config::Config;
use belfry::state::AppState;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

pub struct Server {
    pub state: AppState,
    pub url: String,
    pub shutdown: ShutdownHandle,
}

/// The server on `database_url` with `secret` as its JWT secret, loopback exempt from rate
/// limits, and `more` settings.
pub async fn start(database_url: &str, secret: &str, more: &[(&'static str, &str)]) -> Server {
    let mut env: HashMap<&str, String> = HashMap::from([
        ("BELFRY_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("BELFRY_JWT_SECRET", secret.to_owned()),
        ("BELFRY_LIMIT_EXEMPT_CIDRS", "127.0.0.0/8".to_owned()),
    ]);
    env.extend(more.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let config = Config::from_source(&move |n: &str| env.get(n).cloned(), None).expect("config");
    let app = Application::build(config).await.expect("server starts");
    let server = Server {
        state: app.state().clone(),
        url: format!("http://{}", app.addr()),
        shutdown: app.shutdown_handle(),
    };
    tokio::spawn(app.run());
    server
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The one number `sql` selects as `n`.
pub async fn count(pool: &belfry::db::DbPool, sql: &str) -> i64 {
    let mut conn = pool.get().await.expect("connection");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .expect("count")
        .n
}

/// The `p` quantile of sorted latencies, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

pub fn median(figures: &mut [f64]) -> f64 {
    figures.sort_by(|a, b| a.total_cmp(b));
    figures[figures.len() / 2]
}

/// Latencies of `requests` sequential GETs of `url` (each must answer 200), sorted.
pub async fn timed(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    requests: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.expect("body");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

/// `--rounds N` and `--requests N` (at least 1 and 10), and `--write FILE`.
pub struct Options {
    pub rounds: usize,
    pub requests: usize,
    pub write_to: Option<String>,
}

impl Options {
    pub fn from_args(rounds: usize, requests: usize) -> Self {
        let args: Vec<String> = std::env::args().collect();
        let option = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        Self {
            rounds: option("--rounds")
                .and_then(|r| r.parse().ok())
                .unwrap_or(rounds)
                .max(1),
            requests: option("--requests")
                .and_then(|r| r.parse().ok())
                .unwrap_or(requests)
                .max(10),
            write_to: option("--write"),
        }
    }
}
