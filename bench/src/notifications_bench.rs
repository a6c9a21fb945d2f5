//! Notifications at scale: the inbox and its counts with 1,000,000 notifications in the table,
//! and an admin's in-app send to every one of 10,000 users of one church while 2,000 of them
//! have a socket open.
//!
//! - Inbox: sequential `GET /api/notifications` (the first page, unread only, a word search)
//!   and `GET /api/notifications/counts` for one user among 10,000 who hold 100 each; beside
//!   them, in the same rounds, `GET /api/me` (a signed-in request that reads one row), the peer
//!   the figures are compared with.
//! - Bulk: `POST /api/admin/notifications {"audience": {"church": true}}`: how long until it is
//!   answered (every notification stored), and until the last of the 2,000 sockets has its
//!   `notification:new`; notifications per second end to end.
//!
//! The database (`belfry_notifications_bench`) is seeded once and kept; each bulk send adds
//! 10,000 rows more.
//!
//! `cargo run --release -p belfry-bench --bin belfry-notifications-bench -- [--rounds N] [--requests N] [--write FILE]`

// Not every shared helper is used here.
#[allow(dead_code)]
#[path = "loadgen/in_process.rs"]
mod in_process;
#[allow(dead_code)]
#[path = "loadgen/mod.rs"]
mod loadgen;

use in_process::{count, median, percentile, timed};
use std::io::Write;
use std::time::Instant;

use belfry::auth::{JwtKeys, TokenSubject};
use belfry::config::Config;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use serde_json::{Value, json};

const JWT_SECRET: &str = "notifications-bench-secret-notifications";
const DATABASE: &str = "belfry_notifications_bench";
const USERS: i64 = 10_000;
const EACH: i64 = 100;
const ONLINE: i64 = 2_000;

/// 10,000 users of church 1 (user 1 its admin), 100 notifications each, a third read; the
/// rows in the table.
async fn seed(database_url: &str) -> i64 {
    loadgen::seed_staff(database_url, USERS, 1).await;
    let pool = belfry::db::connect_and_migrate(database_url, 1)
        .await
        .expect("bench database");
    let held = count(&pool, "SELECT count(*) AS n FROM notifications").await;
    if held >= USERS * EACH {
        return held;
    }
    let started = Instant::now();
    let mut conn = pool.get().await.expect("connection");
    for statement in [
        "SET synchronous_commit TO off".to_owned(),
        "UPDATE users SET role = 'admin' WHERE id = 1".to_owned(),
        format!(
            "INSERT INTO notifications (user_id, church_id, category, priority, title, body, \
                 created_at, read_at, seen_at) \
             SELECT u, 1, (ARRAY['announcement','delivery','system'])[n % 3 + 1], 'normal', \
                 (ARRAY['Choir practice moved', 'Your message finished: 236 of 240 delivered', \
                        'Potluck on Sunday', 'Roof repair fund'])[n % 4 + 1] || ' #' || n, \
                 'Thursday at 7pm in the hall; bring a dish to share after the service', \
                 now() - make_interval(mins => ({EACH} - n) * 60), \
                 CASE WHEN n % 3 = 0 THEN now() END, CASE WHEN n % 2 = 0 THEN now() END \
             FROM generate_series(1, {USERS}) u CROSS JOIN generate_series(1, {EACH}) n \
             ORDER BY n, u"
        ),
        "INSERT INTO notification_deliveries (notification_id, channel, status) \
         SELECT id, 'in_app', CASE WHEN read_at IS NULL THEN 'delivered' ELSE 'read' END \
         FROM notifications"
            .to_owned(),
        "ANALYZE".to_owned(),
    ] {
        let step = Instant::now();
        diesel::sql_query(statement.as_str())
            .execute(&mut conn)
            .await
            .expect("seed");
        eprintln!(
            "seeded in {:.1} s: {}",
            step.elapsed().as_secs_f64(),
            statement.chars().take(60).collect::<String>()
        );
    }
    eprintln!("seeding took {:.0} s", started.elapsed().as_secs_f64());
    drop(conn);
    count(&pool, "SELECT count(*) AS n FROM notifications").await
}

fn token(keys: &JwtKeys, user: i64) -> String {
    let mut subject: TokenSubject = loadgen::seeded_staff(user, 1);
    if user == 1 {
        subject.role = belfry::domain::Role::Admin;
    }
    keys.mint(&subject).expect("token").token
}

/// Opens a socket for each of `users`; each task reports when its `notification:new` came.
async fn online(
    url: &str,
    keys: &JwtKeys,
    users: std::ops::Range<i64>,
) -> Vec<tokio::task::JoinHandle<Instant>> {
    let ws = url.replacen("http", "ws", 1);
    let mut tasks = Vec::new();
    for user in users {
        let address = format!("{ws}/ws?token={}", token(keys, user));
        let (mut socket, _) = tokio_tungstenite::connect_async(address)
            .await
            .expect("socket");
        // Until it is in its rooms.
        let mut joined = 0;
        while joined < 2 {
            let frame = socket.next().await.expect("frame").expect("frame");
            let value: Value =
                serde_json::from_str(frame.to_text().unwrap_or("{}")).unwrap_or_default();
            joined += usize::from(value["type"] == "joined");
        }
        tasks.push(tokio::spawn(async move {
            loop {
                let frame = socket.next().await.expect("frame").expect("frame");
                if frame
                    .to_text()
                    .unwrap_or("")
                    .contains("\"notification:new\"")
                {
                    return Instant::now();
                }
            }
        }));
    }
    tasks
}

fn main() {
    let in_process::Options {
        rounds,
        requests,
        write_to,
    } = in_process::Options::from_args(5, 200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let database_url = loadgen::named_database_url(DATABASE);

    let report = runtime.block_on(async {
        let rows = seed(&database_url).await;
        let server = in_process::start(
            &database_url,
            JWT_SECRET,
            &[("BELFRY_MAX_PENDING_PER_ADDRESS", "100000")],
        )
        .await;
        let keys = JwtKeys::new(
            Config::from_source(
                &|n: &str| (n == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned()),
                None,
            )
            .expect("config")
            .jwt
            .clone(),
        );
        let reader = token(&keys, 5_000);
        let client = reqwest::Client::new();
        let base = &server.url;
        let cases = [
            ("GET /api/me (the peer)", format!("{base}/api/me")),
            (
                "GET /api/notifications",
                format!("{base}/api/notifications"),
            ),
            (
                "GET /api/notifications?status=unread",
                format!("{base}/api/notifications?status=unread"),
            ),
            (
                "GET /api/notifications?q=potluck",
                format!("{base}/api/notifications?q=potluck"),
            ),
            (
                "GET /api/notifications/counts",
                format!("{base}/api/notifications/counts"),
            ),
        ];
        for (_, url) in &cases {
            timed(&client, url, &reader, 20).await;
        }
        let mut lines = vec![format!(
            "{rows} notifications in the table ({USERS} users, {EACH} each to begin with); \
             {rounds} rounds of {requests} sequential requests per case as one user; medians \
             of the rounds"
        )];
        let (mut p99_by_case, mut peer_p99) = (Vec::new(), 0.0);
        for _ in 0..rounds {
            for (i, (_, url)) in cases.iter().enumerate() {
                let latencies = timed(&client, url, &reader, requests).await;
                if p99_by_case.len() <= i {
                    p99_by_case.push((Vec::new(), Vec::new()));
                }
                p99_by_case[i].0.push(percentile(&latencies, 0.50));
                p99_by_case[i].1.push(percentile(&latencies, 0.99));
            }
        }
        for (i, (name, _)) in cases.iter().enumerate() {
            let (p50s, p99s) = &mut p99_by_case[i];
            let (p50, p99) = (median(p50s), median(p99s));
            if i == 0 {
                peer_p99 = p99;
            }
            lines.push(format!(
                "{name}: p50 {p50:.2} ms, p99 {p99:.2} ms ({:.1}x the peer's p99)",
                p99 / peer_p99
            ));
        }

        // The bulk send: 2,000 of the church's users online.
        let connected = Instant::now();
        let tasks = online(&server.url, &keys, 2..(2 + ONLINE)).await;
        lines.push(format!(
            "{ONLINE} sockets opened in {:.1} s",
            connected.elapsed().as_secs_f64()
        ));
        let admin = token(&keys, 1);
        let started = Instant::now();
        let answer = client
            .post(format!("{base}/api/admin/notifications"))
            .bearer_auth(&admin)
            .json(
                &json!({"audience": {"church": true}, "title": "Snow: services cancelled",
                "body": "Stay safe; the livestream starts at 10."}),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(answer.status(), 202);
        let stored = started.elapsed();
        let receipt: Value = answer.json().await.expect("receipt");
        let recipients = receipt["recipientCount"].as_i64().expect("count");
        assert_eq!(recipients, USERS, "every user of the church");
        let mut last = started;
        for task in tasks {
            last = last.max(task.await.expect("socket"));
        }
        let end_to_end = last - started;
        lines.push(format!(
            "bulk in-app send to {recipients} users: stored and answered in {:.0} ms; the last \
             of {ONLINE} sockets had it after {:.0} ms: {:.0} notifications/s end to end",
            stored.as_secs_f64() * 1000.0,
            end_to_end.as_secs_f64() * 1000.0,
            recipients as f64 / end_to_end.as_secs_f64()
        ));
        server.shutdown.shutdown();
        lines.join("\n")
    });
    println!("{report}");
    if let Some(file) = write_to {
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("benchmarks file");
        let when = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
        writeln!(
            out,
            "\n### Notifications, {when}\n\nMachine: 2 cores; server and client in one process, PostgreSQL beside.\nCommand: `cargo run --release -p belfry-bench --bin belfry-notifications-bench -- --rounds {rounds} --requests {requests} --write {file}`\n\n```\n{report}\n```"
        )
        .expect("write");
    }
}
