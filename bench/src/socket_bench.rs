//! Socket load generator: how much memory each idle, authenticated socket costs the server.
//!
//! Starts the real server binary (`target/release/belfry serve`, built first) as a child
//! process on a database of its own, opens N WebSockets from several 127.0.0.x source
//! addresses, each authenticated as one of 1,000 users (`--users`) spread over 100 churches
//! (`--churches`), waits until every socket has its welcome, and reads the server's resident
//! memory (VmRSS) before and after.
//!
//! `cargo build --release --workspace && target/release/belfry-socket-bench idle 19000 [--users N] [--churches N] [--write docs/benchmarks.md]`

#[path = "loadgen/mod.rs"]
mod loadgen;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use belfry::auth::JwtKeys;
use belfry::config::Config;
use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const JWT_SECRET: &str = "socket-bench-secret-socket-bench-secret";
const SOURCE_ADDRESSES: u8 = 4;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Opens a socket from `source` authenticated with `token`, and reads its welcome frame.
pub async fn open_socket(
    server: SocketAddr,
    source: Ipv4Addr,
    token: &str,
) -> Result<WebSocketStream<TcpStream>, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .map_err(|e| e.to_string())?;
    let stream = socket.connect(server).await.map_err(|e| e.to_string())?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{server}/ws?token={token}"),
        stream,
        Some(config),
    )
    .await
    .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Ok(Some(Ok(_))) => Ok(ws),
        other => Err(format!("no welcome: {other:?}")),
    }
}

struct Server {
    child: tokio::process::Child,
    addr: SocketAddr,
    database_url: String,
}

async fn start_server() -> Server {
    let database_url = loadgen::database_url("belfry_socket_bench");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let binary = std::env::current_exe()
        .expect("own path")
        .with_file_name("belfry");
    let child = tokio::process::Command::new(&binary)
        .arg("serve")
        .env("BELFRY_ADDR", addr.to_string())
        .env("DATABASE_URL", &database_url)
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        // Thousands of clients share one host here: connect limits would refuse them.
        .env("BELFRY_LIMIT_EXEMPT_CIDRS", "127.0.0.0/8")
        // Thousands of sockets open at once from four addresses, none of them idle.
        .env("BELFRY_MAX_PENDING_PER_ADDRESS", "1000000")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Server {
                child,
                addr,
                database_url,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("idle");
    assert_eq!(
        mode, "idle",
        "usage: belfry-socket-bench idle <sockets> [--write FILE]"
    );
    let sockets: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(19_000);
    let users: i64 = args
        .iter()
        .position(|a| a == "--users")
        .and_then(|i| args.get(i + 1))
        .and_then(|u| u.parse().ok())
        .unwrap_or(1000);
    let churches: i64 = args
        .iter()
        .position(|a| a == "--churches")
        .and_then(|i| args.get(i + 1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
        .max(1);
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let server = start_server().await;
    let pid = server.child.id().expect("server pid");
    let config = Config::from_source(
        &|name: &str| (name == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned()),
        None,
    )
    .expect("config");
    let keys = JwtKeys::new(config.jwt.clone());
    loadgen::seed_staff(&server.database_url, users, churches).await;
    let tokens: Vec<String> = (1..=users)
        .map(|user| {
            let subject = loadgen::seeded_staff(user, churches);
            keys.mint(&subject).expect("token").token
        })
        .collect();

    // One socket opened and closed first, so that lazily built parts are counted in the base.
    drop(open_socket(server.addr, Ipv4Addr::new(127, 0, 0, 2), &tokens[0]).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid);

    let started = Instant::now();
    let server_addr = server.addr;
    let mut open = Vec::with_capacity(sockets);
    let mut pending = futures_util::stream::iter((0..sockets).map(|i| {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCE_ADDRESSES as usize) as u8);
        let token = tokens[i % tokens.len()].clone();
        let addr = server_addr;
        async move { open_socket(addr, source, &token).await }
    }))
    .buffer_unordered(256);
    let mut failures = 0usize;
    while let Some(result) = pending.next().await {
        match result {
            Ok(ws) => open.push(ws),
            Err(err) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("socket failed: {err}");
                }
            }
        }
    }
    drop(pending);
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid);
    let per_socket = (after.saturating_sub(before)) as f64 * 1024.0 / open.len().max(1) as f64;

    let report = format!(
        "sockets requested: {sockets}, as {users} users of {churches} churches\nsockets open and authenticated: {}\nfailed: {failures}\n\
         opened in: {:.1} s\nserver RSS before: {:.1} MiB\nserver RSS with the sockets open: {:.1} MiB\n\
         server RSS growth per socket: {:.1} KB",
        open.len(),
        opened_in.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per_socket / 1000.0,
    );
    println!("{report}");
    if let Some(path) = write_to {
        let section = format!(
            "\n### Idle sockets, {}\n\nMachine: {} cores; the server (release build) as its own process, the \
             clients in another, on the same machine.\nCommand: `target/release/belfry-socket-bench idle {sockets} --users {users} --churches {churches} --write {path}`\n\n```\n{report}\n```\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
        );
        let mut doc = std::fs::read_to_string(&path).unwrap_or_default();
        doc.push_str(&section);
        std::fs::write(&path, doc).expect("write report");
    }

    drop(open);
    let mut server = server;
    let _ = server.child.kill().await;
    let _ = belfry::db::drop_database(&server.database_url).await;
}
