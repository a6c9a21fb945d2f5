//! Room fan-out load generator: events published into rooms at a steady rate, received by every
//! socket in them; reports deliveries per second and publish-to-receive latency.
//!
//! The server and the publisher run in this process; the clients in a child process (the same
//! binary, `client` mode), since one process may hold at most 20,000 open files. Each event
//! carries the wall-clock time it was published (one machine, one clock); the child notes when
//! it read it. Everything, PostgreSQL included, shares the machine's cores, so the clients read
//! with a lean hand-written frame reader (`loadgen/frame_reader.rs`) rather than tungstenite.
//! Besides the usual percentiles it reports, per event, when its last socket had it. The run
//! starts once the storm of presence events that opening every socket sets off has settled
//! (its length is reported too): the figures are for a room at work, not one filling up.
//!
//! `cargo run --release -p belfry-bench --bin belfry-fanout-bench -- <rooms> <sockets per room> <deliveries/s> [seconds] [--write FILE]`
//! e.g. `1 5000 250000` (one room of 5,000) or `1000 10 250000` (1,000 rooms of 10).

#[path = "loadgen/frame_reader.rs"]
mod frame_reader;
#[path = "loadgen/mod.rs"]
mod loadgen;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use belfry::app::Application;
use belfry::auth::JwtKeys;
use belfry::config::Config;
use belfry_actors::protocol::{RoomEvent, church_room};
use frame_reader::FrameReader;
use futures_util::StreamExt;
use serde_json::{Value, json};

const JWT_SECRET: &str = "fanout-bench-secret-fanout-bench-secret";
const SOURCE_ADDRESSES: usize = 4;
/// How long the sockets must have received nothing before the run starts.
const QUIET: Duration = Duration::from_secs(1);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The bench's events are `chat:read` frames of no user (id 0) whose `messageId` is the time
/// they were published, in microseconds.
fn bench_event(published_us: u64) -> RoomEvent {
    RoomEvent::ChatRead {
        user_id: 0,
        message_id: published_us as i64,
    }
}

const PUBLISHED_KEY: &[u8] = b"\"messageId\":";

/// Reads the publish time out of a frame without parsing all of it.
fn published_at(text: &[u8]) -> Option<u64> {
    let at = text
        .windows(PUBLISHED_KEY.len())
        .position(|w| w == PUBLISHED_KEY)?
        + PUBLISHED_KEY.len();
    let digits = &text[at..];
    let end = digits
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("client") {
        return client(&args[2..]);
    }
    let number = |i: usize, default: u64| -> u64 {
        args.get(i)
            .filter(|a| !a.starts_with("--"))
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let rooms = number(1, 1) as usize;
    let per_room = number(2, 5000) as usize;
    let target = number(3, 250_000);
    let seconds = number(4, 10);
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("belfry-server")
        .enable_all()
        .build()
        .expect("runtime");
    let database_url = loadgen::database_url("belfry_fanout_bench");
    let env: HashMap<&str, String> = HashMap::from([
        ("BELFRY_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.clone()),
        ("BELFRY_JWT_SECRET", JWT_SECRET.to_owned()),
        // Room for a burst: the measure is throughput and latency, not cut-offs.
        ("BELFRY_WS_QUEUE", "4096".to_owned()),
        // Thousands of clients share one host here: connect limits would refuse them.
        ("BELFRY_LIMIT_EXEMPT_CIDRS", "127.0.0.0/8".to_owned()),
        // Thousands of sockets open at once from four addresses, none of them idle.
        ("BELFRY_MAX_PENDING_PER_ADDRESS", "1000000".to_owned()),
    ]);
    let config =
        Config::from_source(&move |name: &str| env.get(name).cloned(), None).expect("config");
    let app = runtime
        .block_on(Application::build(config))
        .expect("server starts");
    let addr = app.addr();
    // Every socket's user must exist: user i + 1 in church i % rooms + 1, as the client mints.
    runtime.block_on(loadgen::seed_staff(
        &database_url,
        (rooms * per_room) as i64,
        rooms as i64,
    ));
    let directory = Arc::clone(app.state().system.directory());
    let shutdown = app.shutdown_handle();
    runtime.spawn(app.run());

    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args([
            "client",
            &addr.to_string(),
            &rooms.to_string(),
            &per_room.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("client process starts");
    let mut to_child = child.stdin.take().expect("stdin");
    let mut from_child = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = from_child.next().and_then(Result::ok).unwrap_or_default();
    let settled: f64 = ready
        .strip_prefix("ready ")
        .and_then(|s| s.parse().ok())
        .expect("the clients did not all connect");

    // Events per second = target deliveries / sockets per room, spread over the rooms.
    let events_per_second = target as f64 / per_room as f64;
    let warmup = Duration::from_secs(1);
    let run = Duration::from_secs(seconds);
    let start_us = now_us() + warmup.as_micros() as u64;
    let end_us = start_us + run.as_micros() as u64;
    writeln!(to_child, "go {start_us} {end_us}").expect("tell the clients");
    let published = runtime.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let (mut sent, mut counted, mut room) = (0u64, 0u64, 0usize);
        loop {
            tick.tick().await;
            let elapsed = started.elapsed();
            if elapsed >= warmup + run {
                break;
            }
            let due = (elapsed.as_secs_f64() * events_per_second) as u64;
            while sent < due {
                let t = now_us();
                let event = bench_event(t);
                directory.publish(church_room(room as i64 + 1), event);
                room = (room + 1) % rooms;
                sent += 1;
                if (start_us..end_us).contains(&t) {
                    counted += 1;
                }
            }
        }
        counted
    });
    std::thread::sleep(Duration::from_millis(1000));
    writeln!(to_child, "stop").expect("tell the clients");
    let result: Value = from_child
        .next()
        .and_then(Result::ok)
        .and_then(|line| serde_json::from_str(&line).ok())
        .expect("the clients' figures");
    let _ = child.wait();

    let received = result["received"].as_u64().unwrap_or(0);
    let expected = published * per_room as u64;
    let report = format!(
        "rooms: {rooms} × {per_room} sockets ({} sockets)\n\
         target: {target} deliveries/s ({events_per_second:.1} events/s published)\n\
         connect storm settled: {settled:.1} s after the last socket opened\n\
         measured over: {seconds} s after 1 s of warm-up\n\
         delivered: {received} of {expected} ({:.2}%)\n\
         deliveries per second: {:.0}\n\
         publish → receive latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
         an event's last delivery: p50 {:.2} ms, p90 {:.2} ms after it was published\n\
         sockets closed during the run: {}",
        rooms * per_room,
        100.0 * received as f64 / expected.max(1) as f64,
        received as f64 / seconds as f64,
        result["p50"].as_f64().unwrap_or(0.0),
        result["p99"].as_f64().unwrap_or(0.0),
        result["max"].as_f64().unwrap_or(0.0),
        result["lastP50"].as_f64().unwrap_or(0.0),
        result["lastP90"].as_f64().unwrap_or(0.0),
        result["closed"].as_u64().unwrap_or(0),
    );
    println!("{report}");
    if let Some(path) = write_to {
        let section = format!(
            "\n### Fan-out, {}\n\nMachine: {} cores; server and publisher in one process, the clients in another, PostgreSQL beside.\n\
             Command: `cargo run --release -p belfry-bench --bin belfry-fanout-bench -- {rooms} {per_room} {target} {seconds} --write {path}`\n\n```\n{report}\n```\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
        );
        let mut doc = std::fs::read_to_string(&path).unwrap_or_default();
        doc.push_str(&section);
        std::fs::write(&path, doc).expect("write report");
    }
    shutdown.shutdown();
    runtime.block_on(async {
        let _ = belfry::db::drop_database(&database_url).await;
    });
    runtime.shutdown_background();
}

/// The client process: opens the sockets (room r is church r + 1, one user per socket), says
/// `ready`, measures between the times given by `go`, and prints its figures on `stop`.
fn client(args: &[String]) {
    let addr: SocketAddr = args[0].parse().expect("server address");
    let rooms: usize = args[1].parse().expect("rooms");
    let per_room: usize = args[2].parse().expect("sockets per room");
    let sockets = rooms * per_room;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config::from_source(
        &|name: &str| (name == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned()),
        None,
    )
    .expect("config");
    let keys = JwtKeys::new(config.jwt.clone());
    let opened = runtime.block_on(async {
        let mut opening = futures_util::stream::iter((0..sockets).map(|i| {
            let subject = loadgen::seeded_staff(i as i64 + 1, rooms as i64);
            let token = keys.mint(&subject).expect("token").token;
            let source = Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCE_ADDRESSES) as u8);
            async move { FrameReader::connect(addr, source, &token).await }
        }))
        .buffer_unordered(256);
        let mut opened = Vec::with_capacity(sockets);
        while let Some(socket) = opening.next().await {
            opened.push(socket.expect("socket opens"));
        }
        opened
    });
    // Every socket reads from now on. Opening thousands of sockets at once makes a storm of
    // presence events (each arrival is announced to everyone already there); the figures are
    // for a room at work, so `ready` waits until the sockets have been quiet for a while.
    let closed = Arc::new(AtomicU64::new(0));
    let last_frame = Arc::new(AtomicU64::new(now_us()));
    // Each socket's latencies sit behind a lock of their own that only its task takes while
    // it runs; the tasks are aborted at `stop` and the figures gathered then.
    let mut gathered = Vec::with_capacity(sockets);
    let mut tasks = Vec::with_capacity(sockets);
    for mut reader in opened {
        let closed = Arc::clone(&closed);
        let last_frame = Arc::clone(&last_frame);
        let latencies = Arc::new(Mutex::new(Vec::new()));
        gathered.push(Arc::clone(&latencies));
        tasks.push(runtime.spawn(async move {
            let mut record = |text: &[u8]| {
                let now = now_us();
                last_frame.store(now, Ordering::Relaxed);
                if let Some(t) = published_at(text) {
                    let latency = now.saturating_sub(t) as u32;
                    latencies.lock().expect("not poisoned").push((t, latency));
                }
            };
            while reader.read(&mut record).await.is_ok() {}
            closed.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let opened_at = Instant::now();
    while now_us().saturating_sub(last_frame.load(Ordering::Relaxed)) < QUIET.as_micros() as u64 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let settled = opened_at.elapsed().saturating_sub(QUIET);
    println!("ready {:.1}", settled.as_secs_f64());
    let mut stdin = std::io::stdin().lock().lines();
    let go = stdin.next().and_then(Result::ok).unwrap_or_default();
    let mut parts = go.split_whitespace().skip(1);
    let start: u64 = parts.next().and_then(|p| p.parse().ok()).expect("start");
    let end: u64 = parts.next().and_then(|p| p.parse().ok()).expect("end");
    let _ = stdin.next();
    for task in &tasks {
        task.abort();
    }
    let received: Vec<(u64, u32)> = gathered
        .iter()
        .flat_map(|l| std::mem::take(&mut *l.lock().expect("not poisoned")))
        .filter(|(t, _)| (start..end).contains(t))
        .collect();
    // When each event reached its last socket: how long a whole fan-out takes.
    let mut last_by_event: HashMap<u64, u32> = HashMap::new();
    for &(t, latency) in &received {
        let last = last_by_event.entry(t).or_default();
        *last = (*last).max(latency);
    }
    let mut completions: Vec<u32> = last_by_event.into_values().collect();
    completions.sort_unstable();
    let mut latencies: Vec<u32> = received.iter().map(|&(_, latency)| latency).collect();
    latencies.sort_unstable();
    let figures = json!({
        "received": latencies.len(),
        "closed": closed.load(Ordering::Relaxed),
        "p50": percentile(&latencies, 0.50),
        "p99": percentile(&latencies, 0.99),
        "max": latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        "lastP50": percentile(&completions, 0.50),
        "lastP90": percentile(&completions, 0.90),
    });
    println!("{figures}");
    runtime.shutdown_background();
}
