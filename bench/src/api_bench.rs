//! API load generator: requests per second on authenticated routes with the rate limiter off
//! (the client's address exempt) and on, and the cost of one limit check through the limiter
//! actors against an in-process `governor` keyed limiter, all in one run.
//!
//! The server runs in this process on two runtime threads, the clients on a third (keep-alive
//! connections, one token per simulated user); PostgreSQL shares the machine's cores.
//!
//! `cargo run --release -p belfry-bench --bin belfry-api-bench -- [seconds per measurement] [--rounds N] [--write FILE]`

#[path = "loadgen/mod.rs"]
mod loadgen;

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use belfry::app::{Application, ShutdownHandle};
use belfry::auth::JwtKeys;
use belfry::config::Config;
use belfry::state::AppState;
use belfry_actors::limiter::{Limit, LimitKey, Policy};

const JWT_SECRET: &str = "api-bench-secret-api-bench-secret-api";
const USERS: i64 = 100;
const CONNECTIONS: usize = 32;
const ROUTES: [&str; 3] = ["/api/presence", "/api/members", "/api/messages/history"];
/// Messages stored for the history route to page through.
const MESSAGES: i64 = 1000;
/// Off / on pairs per route unless `--rounds` says otherwise.
const ROUNDS: usize = 3;
/// The quota of the one-check comparison: 10,000,000 an hour (2,778 a second) per key.
const CHECK_QUOTA: u32 = 10_000_000;

fn median(figures: &mut [f64]) -> f64 {
    figures.sort_by(|a, b| a.total_cmp(b));
    figures[figures.len() / 2]
}

struct Server {
    state: AppState,
    url: String,
    shutdown: ShutdownHandle,
}

async fn start(database_url: &str, limited: bool) -> Server {
    let mut env: HashMap<&str, String> = HashMap::from([
        ("BELFRY_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("BELFRY_JWT_SECRET", JWT_SECRET.to_owned()),
        // Counted but never refused: the measure is the cost of counting. 100,000 an hour is
        // 28 a second per user, fewer than each of the 100 users sends, so every key stays in
        // use (a quota that refilled between two requests would retire the key's actor and
        // start a new one every few milliseconds: that would measure starting, not counting).
        ("BELFRY_LIMIT_API", "100000/3600".to_owned()),
    ]);
    // The clients share one address and open their connections at once.
    env.insert("BELFRY_MAX_PENDING_PER_ADDRESS", "1000000".to_owned());
    if !limited {
        env.insert("BELFRY_LIMIT_EXEMPT_CIDRS", "127.0.0.0/8".to_owned());
    }
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

/// Requests per second answered `200` (or `304` when revalidating with `etag`) by
/// `CONNECTIONS` clients looping on `path`, and the requests that failed.
fn hammer(
    url: &str,
    path: &str,
    tokens: &[String],
    seconds: u64,
    etag: Option<&str>,
) -> (f64, u64) {
    let etag = etag.map(str::to_owned);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()
            .unwrap();
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut tasks = Vec::new();
        for i in 0..CONNECTIONS {
            let (http, target) = (http.clone(), format!("{url}{path}"));
            let tokens: Vec<String> = tokens
                .iter()
                .skip(i)
                .step_by(CONNECTIONS)
                .cloned()
                .collect();
            let (measuring, stop) = (Arc::clone(&measuring), Arc::clone(&stop));
            let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
            let etag = etag.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let token = &tokens[n % tokens.len()];
                    n += 1;
                    let mut request = http.get(&target).bearer_auth(token);
                    if let Some(etag) = &etag {
                        request = request.header("if-none-match", etag);
                    }
                    let expected = if etag.is_some() { 304 } else { 200 };
                    let good = match request.send().await {
                        Ok(r) => r.status() == expected && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if measuring.load(Ordering::Relaxed) {
                        if good { &ok } else { &failed }.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        (
            ok.load(Ordering::Relaxed) as f64 / elapsed,
            failed.load(Ordering::Relaxed),
        )
    })
}

/// Limit checks per second from `CONNECTIONS` concurrent tasks over `USERS` keys.
async fn checks_per_second<F, Fut>(seconds: u64, check: F) -> f64
where
    F: Fn(i64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (check, stop, done) = (check.clone(), Arc::clone(&stop), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut user = i as i64;
            while !stop.load(Ordering::Relaxed) {
                assert!(check(user % USERS + 1).await, "a check refused or failed");
                done.fetch_add(1, Ordering::Relaxed);
                user += CONNECTIONS as i64;
                // A check that never waits (governor's) would otherwise hold the thread.
                if (user / CONNECTIONS as i64) % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let write_to = option("--write");
    let rounds: usize = option("--rounds")
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let database_url = loadgen::database_url("belfry_api_bench");

    let church_id = server_runtime.block_on(async {
        let server = start(&database_url, false).await;
        let church = belfry::db::churches::create(&server.state.pool, "Bench Church")
            .await
            .expect("church");
        for i in 0..50 {
            let phone =
                belfry::domain::PhoneNumber::parse(&format!("+1202555{:04}", i)).expect("phone");
            belfry::db::members::create(
                &server.state.pool,
                church.id,
                &format!("Member {i}"),
                &phone,
            )
            .await
            .expect("member");
        }
        let sender = belfry::accounts::create_user(
            &server.state.pool,
            Some(church.id),
            "sender@bench.test",
            "Bench sender",
            "staff",
            "bench-password".to_owned(),
        )
        .await
        .expect("user");
        // Stored directly: the measure is reading history, not sending.
        let mut conn = server.state.pool.get().await.expect("connection");
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "INSERT INTO messages (church_id, sender_id, body, status, recipient_count, \
                 created_at) SELECT {}, {sender}, 'Choir practice moves to 7pm', 'delivered', 50, \
                 now() - make_interval(mins => n) FROM generate_series(1, {MESSAGES}) AS n",
                church.id
            )),
            &mut conn,
        )
        .await
        .expect("messages");
        server.shutdown.shutdown();
        church.id
    });
    // Every request's user must exist (the sender is user 1 of this fresh database, whose one
    // church is church 1).
    assert_eq!(church_id, 1, "a fresh database");
    server_runtime.block_on(loadgen::seed_staff(&database_url, USERS, church_id));
    let config = Config::from_source(
        &|n: &str| (n == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned()),
        None,
    )
    .expect("config");
    let keys = JwtKeys::new(config.jwt.clone());
    let tokens: Vec<String> = (1..=USERS)
        .map(|user| {
            let subject = loadgen::seeded_staff(user, church_id);
            keys.mint(&subject).expect("token").token
        })
        .collect();

    let mut lines = vec![format!(
        "{CONNECTIONS} keep-alive clients, {USERS} users, {seconds} s per figure after 1 s of \
         warm-up, {rounds} rounds alternating limiter off / on; medians, and the median of \
         each round's own cost (an off figure and the on figure right after it)"
    )];
    let off = server_runtime.block_on(start(&database_url, false));
    let on = server_runtime.block_on(start(&database_url, true));
    for path in ROUTES {
        let mut figures: [Vec<f64>; 2] = Default::default();
        let mut failed = 0;
        for _ in 0..rounds {
            for (i, server) in [&off, &on].into_iter().enumerate() {
                let (rate, errors) = hammer(&server.url, path, &tokens, seconds, None);
                figures[i].push(rate);
                failed += errors;
            }
        }
        let mut paired: Vec<f64> = figures[0]
            .iter()
            .zip(&figures[1])
            .map(|(off, on)| (off - on) / off * 100.0)
            .collect();
        let paired = median(&mut paired);
        let [off_rate, on_rate] = figures.each_mut().map(|f| median(f));
        let runs = |f: &[f64]| {
            f.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!(
            "GET {path}: limiter off {off_rate:.0}/s ({}), on {on_rate:.0}/s ({}): \
             the limiter costs {:.1} % (median of rounds {paired:.1} %; {failed} failed requests)",
            runs(&figures[0]),
            runs(&figures[1]),
            (off_rate - on_rate) / off_rate * 100.0
        ));
    }
    // A client that revalidates the history page it holds: every answer a 304.
    let history = format!("{}/api/messages/history", on.url);
    let etag = server_runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(&history)
            .bearer_auth(&tokens[0])
            .send()
            .await
            .expect("history");
        response.headers()["etag"]
            .to_str()
            .expect("etag")
            .to_owned()
    });
    let page_bytes = server_runtime.block_on(async {
        let mut sizes = Vec::new();
        for encoding in ["identity", "gzip", "br"] {
            let response = reqwest::Client::new()
                .get(format!("{history}?limit=100"))
                .bearer_auth(&tokens[0])
                .header("accept-encoding", encoding)
                .send()
                .await
                .expect("history page");
            sizes.push(format!(
                "{encoding} {} bytes",
                response.bytes().await.expect("body").len()
            ));
        }
        sizes.join(", ")
    });
    lines.push(format!("a 100-message history page: {page_bytes}"));
    let (full, _) = hammer(&on.url, "/api/messages/history", &tokens, seconds, None);
    let (revalidated, failed) = hammer(
        &on.url,
        "/api/messages/history",
        &tokens,
        seconds,
        Some(&etag),
    );
    lines.push(format!(
        "GET /api/messages/history, limiter on: {full:.0}/s answered 200, {revalidated:.0}/s \
         revalidated with If-None-Match, all 304 ({failed} not 304)"
    ));
    let directory = Arc::clone(on.state.system.directory());
    let policy = Policy::new(
        "api",
        // As above: refilled slower than each key is asked, so its actor stays.
        Limit::new(CHECK_QUOTA, Duration::from_secs(3600), CHECK_QUOTA),
    );
    let actors = server_runtime.block_on(checks_per_second(seconds, move |user| {
        let directory = Arc::clone(&directory);
        async move {
            let key = LimitKey::User {
                user_id: user,
                church_id: Some(church_id),
            };
            directory
                .check_limit(&key, policy, 1)
                .await
                .is_some_and(|d| d.allowed)
        }
    }));
    let quota = governor::Quota::per_hour(NonZeroU32::new(CHECK_QUOTA).unwrap());
    let governor = Arc::new(governor::RateLimiter::keyed(quota));
    let governed = server_runtime.block_on(checks_per_second(seconds, move |user| {
        let governor = Arc::clone(&governor);
        async move { governor.check_key(&user).is_ok() }
    }));
    lines.push(format!(
        "one limit check from {CONNECTIONS} tasks: limiter actors {actors:.0}/s ({:.2} µs each), \
         governor (in-process, keyed) {governed:.0}/s ({:.3} µs each)",
        1e6 / actors,
        1e6 / governed
    ));
    off.shutdown.shutdown();
    on.shutdown.shutdown();
    let report = lines.join("\n");
    println!("{report}");
    if let Some(file) = write_to {
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("benchmarks file");
        let when = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
        writeln!(
            out,
            "\n### API and limiter, {when}\n\nMachine: 2 cores; server and clients in one process, PostgreSQL beside.\nCommand: `cargo run --release -p belfry-bench --bin belfry-api-bench -- {seconds} --rounds {rounds} --write {file}`\n\n```\n{report}\n```"
        )
        .expect("write");
    }
}
