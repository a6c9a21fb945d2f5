//! Delivery analytics at 10 million recipient rows: how long `GET /api/analytics/delivery`
//! takes for a year by day (and by week, and the default 30 days) for a church that holds all
//! of them, against the same year counted from the recipient rows themselves, the way it would
//! be without kept figures. The two are also checked to agree, day by day.
//!
//! The database is seeded once (about 18,000 messages a year: 30 broadcasts of 913 a day and
//! 20 one-to-one texts, 94 % delivered, failures under four codes, three broadcasts still
//! going) and kept between runs; the server's own summary job then summarizes every finished
//! message, and how long it took is reported too.
//!
//! `cargo run --release -p belfry-bench --bin belfry-analytics-bench -- [--rounds N] [--requests N] [--write FILE]`

// Not every shared helper is used here.
#[allow(dead_code)]
#[path = "loadgen/in_process.rs"]
mod in_process;
#[allow(dead_code)]
#[path = "loadgen/mod.rs"]
mod loadgen;

use in_process::{count, median, percentile, timed};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use belfry::auth::JwtKeys;
use belfry::config::Config;
use diesel::sql_types::{BigInt, Date};
use diesel_async::RunQueryDsl;
use serde_json::Value;

const JWT_SECRET: &str = "analytics-bench-secret-analytics-bench";
const DATABASE: &str = "belfry_analytics_bench";
const DAYS: i64 = 365;
const BROADCASTS_A_DAY: i64 = 30;
const BROADCAST_SIZE: i64 = 913;
const DIRECT_A_DAY: i64 = 20;
const MEMBERS: i64 = 1000;

/// Seeds church 1's year unless the database holds it already; the recipient rows.
async fn seed(database_url: &str) -> i64 {
    loadgen::seed_staff(database_url, 2, 2).await;
    let pool = belfry::db::connect_and_migrate(database_url, 1)
        .await
        .expect("bench database");
    let held = count(&pool, "SELECT count(*) AS n FROM message_recipients").await;
    if held > 0 {
        return held;
    }
    let started = Instant::now();
    let mut conn = pool.get().await.expect("connection");
    let statements = [
        "SET synchronous_commit TO off".to_owned(),
        format!(
            "INSERT INTO members (church_id, name, phone) \
             SELECT 1, 'Member ' || g, '+1303555' || lpad(g::text, 4, '0') \
             FROM generate_series(1, {MEMBERS}) g"
        ),
        // Broadcasts every 48 minutes back from now, one-to-one texts every 72 minutes, over
        // the year; the three newest broadcasts are still going.
        format!(
            "INSERT INTO messages (church_id, sender_id, body, status, recipient_count, created_at) \
             SELECT 1, 1, 'Choir practice moves to 7pm', \
                 CASE WHEN g <= 3 THEN 'sending' ELSE 'completed' END, {BROADCAST_SIZE}, \
                 now() - make_interval(mins => g * 48) \
             FROM generate_series(1, {broadcasts}) g",
            broadcasts = DAYS * BROADCASTS_A_DAY
        ),
        format!(
            "INSERT INTO messages (church_id, sender_id, body, status, recipient_count, created_at) \
             SELECT 1, 1, 'See you Sunday', 'completed', 1, now() - make_interval(mins => g * 72 + 7) \
             FROM generate_series(1, {direct}) g",
            direct = DAYS * DIRECT_A_DAY
        ),
        // Per recipient, by a hash of its place: 94 % delivered, 3 % failed at the carrier
        // under one of three codes, 1 % given up on, 1 % skipped (opted out), 1 % delivered;
        // of the broadcasts still going, a third still queued.
        format!(
            "INSERT INTO message_recipients (message_id, member_id, phone, status, status_rank, \
                 failure_reason, accepted_at, outbox_state, updated_at) \
             SELECT m.id, mb.id, mb.phone, s.status, \
                 CASE WHEN s.status = 'queued' THEN 1 ELSE 5 END, s.reason, \
                 CASE WHEN s.status IN ('failed', 'skipped') THEN NULL ELSE m.created_at END, \
                 'done', m.created_at \
             FROM messages m \
             CROSS JOIN LATERAL generate_series(1, m.recipient_count) g \
             JOIN members mb ON mb.id = ((m.id * 37 + g) % {MEMBERS}) + 1 \
             CROSS JOIN LATERAL (SELECT h, \
                 CASE WHEN m.status = 'sending' AND h % 3 = 0 THEN 'queued' \
                      WHEN h % 100 < 94 THEN 'delivered' \
                      WHEN h % 100 < 97 THEN 'delivery_failed' \
                      WHEN h % 100 = 97 THEN 'failed' \
                      WHEN h % 100 = 98 THEN 'skipped' \
                      ELSE 'delivered' END AS status, \
                 CASE WHEN m.status = 'sending' AND h % 3 = 0 THEN NULL \
                      WHEN h % 100 BETWEEN 94 AND 96 THEN (ARRAY[ \
                        '30003 Unreachable destination handset', \
                        '30005 Unknown destination handset', \
                        '40008 Undeliverable: carrier rejected the message'])[h % 3 + 1] \
                      WHEN h % 100 = 97 THEN 'gave up after 5 attempts: HTTP 503 (busy)' \
                      WHEN h % 100 = 98 THEN 'opted out' END AS reason \
                 FROM (SELECT (m.id * 7919 + g * 104729) % 1000003 AS h) hashed) s \
             WHERE m.church_id = 1"
        ),
        "UPDATE messages m SET delivered_count = t.delivered, failed_count = t.failed \
         FROM (SELECT message_id, count(*) FILTER (WHERE status = 'delivered') AS delivered, \
                 count(*) FILTER (WHERE status_rank = 5 AND status <> 'delivered') AS failed \
               FROM message_recipients GROUP BY message_id) t WHERE m.id = t.message_id"
            .to_owned(),
        // Replies and opt-outs every quarter hour of the year.
        format!(
            "INSERT INTO church_tallies (church_id, quarter, replies, opt_outs) \
             SELECT 1, q, (extract(epoch FROM q)::bigint / 900) % 4, \
                 CASE WHEN (extract(epoch FROM q)::bigint / 900) % 48 = 0 THEN 1 ELSE 0 END \
             FROM generate_series(date_bin('15 minutes', now() - interval '{DAYS} days', \
                 TIMESTAMPTZ '2000-01-01 00:00:00+00'), now(), interval '15 minutes') q"
        ),
        "ANALYZE".to_owned(),
    ];
    for statement in &statements {
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
    // The pool has one connection.
    drop(conn);
    count(&pool, "SELECT count(*) AS n FROM message_recipients").await
}

/// Waits for the server's summary job to summarize every finished message; how long it took.
async fn summarized(pool: &belfry::db::DbPool) -> (Duration, i64) {
    let started = Instant::now();
    let waiting = format!(
        "SELECT count(*) AS n FROM messages WHERE sent_count IS NULL AND {}",
        belfry::db::delivery_summaries::finished_sql()
    );
    let at_start = count(pool, &waiting).await;
    while count(pool, &waiting).await > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (started.elapsed(), at_start)
}

/// Request latencies of `requests` sequential GETs of `path`.

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Day {
    #[diesel(sql_type = Date)]
    day: chrono::NaiveDate,
    #[diesel(sql_type = BigInt)]
    recipients: i64,
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = BigInt)]
    delivered: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
}

/// The year by day counted from the recipient rows: what the route would cost without kept
/// figures.
const FROM_RECIPIENTS: &str = "SELECT (COALESCE(m.send_at, m.created_at) AT TIME ZONE 'UTC')::date AS day, \
       count(*) AS recipients, count(r.accepted_at) AS sent, \
       count(*) FILTER (WHERE r.status = 'delivered') AS delivered, \
       count(*) FILTER (WHERE r.status_rank = 5 AND r.status <> 'delivered') AS failed \
     FROM messages m JOIN message_recipients r ON r.message_id = m.id \
     WHERE m.church_id = 1 AND COALESCE(m.send_at, m.created_at) >= $1::date::timestamp AT TIME ZONE 'UTC' \
     GROUP BY 1 ORDER BY 1";

fn main() {
    let in_process::Options {
        rounds,
        requests,
        write_to,
    } = in_process::Options::from_args(5, 100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Kept between runs: seeding 10 million rows takes minutes.
    let database_url = loadgen::named_database_url(DATABASE);

    let report = runtime.block_on(async {
        let rows = seed(&database_url).await;
        let server = in_process::start(&database_url, JWT_SECRET, &[]).await;
        let (summary_time, summarized_messages) = summarized(&server.state.pool).await;
        let keys = JwtKeys::new(
            Config::from_source(
                &|n: &str| (n == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned()),
                None,
            )
            .expect("config")
            .jwt
            .clone(),
        );
        let token = keys
            .mint(&loadgen::seeded_staff(1, 2))
            .expect("token")
            .token;
        let client = reqwest::Client::new();
        let today = chrono::Utc::now().date_naive();
        let since = today - chrono::Days::new(DAYS as u64 - 1);
        let year = format!(
            "{}/api/analytics/delivery?since={since}&until={today}",
            server.url
        );
        let cases = [
            ("a year by day", year.clone()),
            ("a year by week", format!("{year}&interval=week")),
            (
                "the last 30 days (default)",
                format!("{}/api/analytics/delivery", server.url),
            ),
        ];
        // Warm the caches and the prepared plans.
        for (_, url) in &cases {
            timed(&client, url, &token, 10).await;
        }
        let mut lines = vec![format!(
            "{rows} recipient rows (church 1 holds all of them, {messages} messages over {DAYS} \
             days), {rounds} rounds of {requests} sequential requests per case; medians of the \
             rounds",
            messages = count(&server.state.pool, "SELECT count(*) AS n FROM messages").await,
        )];
        if summarized_messages > 0 {
            lines.push(format!(
                "the summary job summarized {summarized_messages} finished messages in {:.1} s \
                 ({:.0} messages/s, {:.0} recipient rows/s)",
                summary_time.as_secs_f64(),
                summarized_messages as f64 / summary_time.as_secs_f64(),
                rows as f64 / summary_time.as_secs_f64()
            ));
        }
        let mut year_p50 = 0.0;
        for (name, url) in &cases {
            let (mut p50s, mut p99s, mut maxes) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let latencies = timed(&client, url, &token, requests).await;
                p50s.push(percentile(&latencies, 0.50));
                p99s.push(percentile(&latencies, 0.99));
                maxes.push(percentile(&latencies, 1.0));
            }
            let p50 = median(&mut p50s);
            if *name == "a year by day" {
                year_p50 = p50;
            }
            lines.push(format!(
                "GET {name}: p50 {p50:.1} ms, p99 {:.1} ms (rounds: {}), max {:.1} ms",
                median(&mut p99s),
                p99s.iter()
                    .map(|p| format!("{p:.1}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                median(&mut maxes),
            ));
        }

        // The baseline, and the check that both count the same.
        let mut conn = server.state.pool.get().await.expect("connection");
        let mut baseline = Vec::new();
        let mut counted = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            counted = diesel::sql_query(FROM_RECIPIENTS)
                .bind::<Date, _>(since)
                .load::<Day>(&mut conn)
                .await
                .expect("baseline");
            baseline.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let baseline = median(&mut baseline);
        let answer: Value = client
            .get(&year)
            .bearer_auth(&token)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let kept: BTreeMap<String, [i64; 4]> = answer["intervals"]
            .as_array()
            .expect("intervals")
            .iter()
            .filter(|i| i["recipients"] != 0)
            .map(|i| {
                let n = |k: &str| i[k].as_i64().expect("a count");
                (
                    i["start"].as_str().expect("start").to_owned(),
                    [n("recipients"), n("sent"), n("delivered"), n("failed")],
                )
            })
            .collect();
        let recounted: BTreeMap<String, [i64; 4]> = counted
            .iter()
            .map(|d| {
                (
                    d.day.to_string(),
                    [d.recipients, d.sent, d.delivered, d.failed],
                )
            })
            .collect();
        assert_eq!(kept, recounted, "the kept figures and the recount differ");
        lines.push(format!(
            "baseline, the same year by day counted from the recipient rows in SQL (no HTTP): \
             {baseline:.0} ms, median of 3; the route answers {:.0}x faster at p50, and its \
             figures equal the recount for all {} days",
            baseline / year_p50,
            kept.len()
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
            "\n### Delivery analytics, {when}\n\nMachine: 2 cores; server and client in one process, PostgreSQL beside.\nCommand: `cargo run --release -p belfry-bench --bin belfry-analytics-bench -- --rounds {rounds} --requests {requests} --write {file}`\n\n```\n{report}\n```"
        )
        .expect("write");
    }
}
