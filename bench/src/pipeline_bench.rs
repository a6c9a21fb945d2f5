//! End-to-end load generator: one broadcast to N recipients through the whole pipeline
//! (HTTP → database → actors → a fake Telnyx on loopback answering at once → signed webhooks
//! back → WebSocket client), reporting recipients per second and the time from each
//! `message.finalized` webhook's arrival to its `message:delivered` frame on the socket.
//!
//! `cargo run --release -p belfry-bench --bin belfry-bench -- [recipients] [--write docs/benchmarks.md]`
//! Needs PostgreSQL at `DATABASE_URL`'s server (default 127.0.0.1:5432); uses and then drops a
//! database of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use belfry::app::Application;
use belfry::config::Config;
use belfry::db;
use belfry::telnyx::signature::WebhookSigner;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warp::Filter;

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// When each finalized webhook was posted, by carrier message id.
type PostTimes = Arc<Mutex<HashMap<String, Instant>>>;

struct FakeTelnyx {
    base_url: String,
    public_key: String,
    posted: PostTimes,
}

/// Accepts every send at once, then posts `message.sent` and `message.finalized` (delivered)
/// to the `webhook_url` of the request, signed like Telnyx.
async fn start_fake_telnyx() -> FakeTelnyx {
    let signer = Arc::new(WebhookSigner::generate());
    let public_key = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(signer.verifying_key().to_bytes())
    };
    let posted: PostTimes = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String, String)>();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let route = warp::path!("v2" / "messages")
        .and(warp::post())
        .and(warp::body::json::<Value>())
        .map(move |body: Value| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let id = format!("bench-{n}");
            let to = body["to"].as_str().unwrap_or_default().to_owned();
            let url = body["webhook_url"].as_str().unwrap_or_default().to_owned();
            let _ = tx.send((id.clone(), to, url));
            warp::reply::json(
                &json!({"data": {"id": id, "record_type": "message", "direction": "outbound"}}),
            )
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let webhook_signer = Arc::clone(&signer);
    let webhook_posted = Arc::clone(&posted);
    tokio::spawn(async move {
        // Reports go out from a small pool of tasks, as Telnyx's webhook senders would.
        let permits = Arc::new(tokio::sync::Semaphore::new(128));
        while let Some((id, to, url)) = rx.recv().await {
            let (http, signer, posted) = (
                http.clone(),
                Arc::clone(&webhook_signer),
                Arc::clone(&webhook_posted),
            );
            let permit = Arc::clone(&permits).acquire_owned().await.unwrap();
            tokio::spawn(async move {
                for (n, (kind, status)) in
                    [("message.sent", "sent"), ("message.finalized", "delivered")]
                        .into_iter()
                        .enumerate()
                {
                    let body = json!({
                        "data": {"record_type": "event", "event_type": kind, "id": format!("{id}-{n}"),
                                 "occurred_at": "2026-11-23T00:00:00.000Z",
                                 "payload": {"id": id, "to": [{"phone_number": to, "status": status}], "errors": []}},
                        "meta": {"attempt": 1, "delivered_to": url}
                    })
                    .to_string();
                    let ts = chrono::Utc::now().timestamp();
                    if status == "delivered" {
                        posted.lock().unwrap().insert(id.clone(), Instant::now());
                    }
                    for _ in 0..3 {
                        let sent = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("telnyx-timestamp", ts.to_string())
                            .header("telnyx-signature-ed25519", signer.sign(ts, body.as_bytes()))
                            .body(body.clone())
                            .send()
                            .await;
                        if sent.is_ok_and(|r| r.status().is_success()) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                drop(permit);
            });
        }
    });
    FakeTelnyx {
        base_url: format!("http://{addr}"),
        public_key,
        posted,
    }
}

async fn seed(pool: &db::DbPool, recipients: usize) -> i64 {
    use belfry::db::schema::members;
    use diesel::ExpressionMethods;
    let church = db::churches::create(pool, "Bench Chapel").await.unwrap().id;
    belfry::accounts::create_user(
        pool,
        Some(church),
        "staff@bench.test",
        "Bench",
        "staff",
        "bench-password".into(),
    )
    .await
    .unwrap();
    let rows: Vec<_> = (0..recipients)
        .map(|i| {
            (
                members::church_id.eq(church),
                members::name.eq(format!("Member {i}")),
                members::phone.eq(format!("+1505{i:07}")),
            )
        })
        .collect();
    let mut conn = db::get(pool).await.unwrap();
    for chunk in rows.chunks(5000) {
        diesel::insert_into(members::table)
            .values(chunk)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    church
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let recipients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| belfry::config::DEFAULT_DATABASE_URL.into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL");
    url.set_path(&format!("/belfry_bench_{}", std::process::id()));
    let database_url = url.to_string();

    // The product's default pool size unless the environment says otherwise.
    let workers = std::env::var("BELFRY_SENDER_WORKERS").ok();
    let telnyx = start_fake_telnyx().await;
    let env: HashMap<&str, String> = HashMap::from([
        ("BELFRY_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.clone()),
        ("BELFRY_DB_POOL_SIZE", "48".to_owned()),
        ("BELFRY_JWT_SECRET", JWT_SECRET.to_owned()),
        ("TELNYX_API_KEY", "bench-key".to_owned()),
        ("TELNYX_BASE_URL", telnyx.base_url.clone()),
        ("TELNYX_PUBLIC_KEY", telnyx.public_key.clone()),
        ("TELNYX_FROM_NUMBER", "+15550001111".to_owned()),
        ("BELFRY_SEND_RATE", "0".to_owned()),
    ]);
    let mut env = env;
    if let Some(workers) = &workers {
        env.insert("BELFRY_SENDER_WORKERS", workers.clone());
    }
    let config =
        Config::from_source(&move |name: &str| env.get(name).cloned(), None).expect("config");
    let worker_count = config.system.delivery.workers;
    // The server gets a runtime of its own, as it would in its own process: the fake
    // Telnyx's and the client's tasks then do not queue in front of the server's.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("belfry-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let app = server_runtime
        .spawn(Application::build(config))
        .await
        .expect("server task")
        .expect("server starts");
    let app_url = format!("http://{}", app.addr());
    let pool = app.state().pool.clone();
    let shutdown = app.shutdown_handle();
    let server = server_runtime.spawn(app.run());
    seed(&pool, recipients).await;

    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{app_url}/api/auth/login"))
        .json(&json!({"email": "staff@bench.test", "password": "bench-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let (mut socket, _) = tokio_tungstenite::connect_async(format!(
        "{}/ws?token={token}",
        app_url.replacen("http", "ws", 1)
    ))
    .await
    .expect("socket");
    socket.next().await; // welcome

    let started = Instant::now();
    let response = http
        .post(format!("{app_url}/api/messages"))
        .bearer_auth(&token)
        .json(&json!({"body": "Bench broadcast", "allMembers": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted_after = started.elapsed();

    // recipient id → when its delivered frame arrived
    let mut delivered_at: HashMap<i64, Instant> = HashMap::with_capacity(recipients);
    let mut frames = 0u64;
    while delivered_at.len() < recipients {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("events stopped arriving")
            .expect("socket open")
            .expect("frame");
        let now = Instant::now();
        frames += 1;
        let Ok(text) = frame.into_text() else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap_or_default();
        if event["type"] == "message:delivered" {
            delivered_at.insert(event["recipientId"].as_i64().unwrap(), now);
        }
    }
    let elapsed = started.elapsed();

    use belfry::db::schema::message_recipients::dsl as r;
    use diesel::QueryDsl;
    let mut conn = db::get(&pool).await.unwrap();
    let ids: Vec<(i64, Option<String>)> = r::message_recipients
        .select((r::id, r::provider_message_id))
        .load(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let posted = telnyx.posted.lock().unwrap().clone();
    let mut latencies: Vec<Duration> = ids
        .iter()
        .filter_map(|(id, pid)| {
            let posted = posted.get(pid.as_ref()?)?;
            Some(delivered_at.get(id)?.saturating_duration_since(*posted))
        })
        .collect();
    latencies.sort();

    let rate = recipients as f64 / elapsed.as_secs_f64();
    let report = format!(
        "recipients: {recipients}\nsender workers: {worker_count}\nPOST /api/messages answered in: {:.1} ms\nall delivered on the socket after: {:.2} s\n\
         end-to-end throughput: {rate:.0} recipients/s\nsocket frames received: {frames}\n\
         webhook → socket latency over {} deliveries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        accepted_after.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    println!("{report}");

    if let Some(path) = write_to {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let env_prefix = workers
            .as_ref()
            .map(|w| format!("BELFRY_SENDER_WORKERS={w} "))
            .unwrap_or_default();
        let section = format!(
            "\n### Pipeline run, {}\n\nMachine: {cores} cores ({cpu}); PostgreSQL, the fake Telnyx, the server and the \
             socket client on the same machine.\nCommand: `{env_prefix}cargo run --release -p belfry-bench --bin belfry-bench -- {recipients} --write {path}`\n\n```\n{report}\n```\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        );
        let mut doc = std::fs::read_to_string(&path).unwrap_or_default();
        doc.push_str(&section);
        std::fs::write(&path, doc).expect("write report");
    }

    shutdown.shutdown();
    let _ = server.await;
    let _ = db::drop_database(&database_url).await;
    server_runtime.shutdown_background();
}
