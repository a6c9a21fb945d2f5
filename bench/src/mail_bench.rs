//! Notification email throughput to a real local SMTP server (aiosmtpd, as the tests use): an
//! admin's `high` notification to every one of N users of a church, none of them online, so
//! each is emailed at once; timed from the `POST` until the SMTP server has received every
//! email. Beside it, in the same rounds and to the same server, the peer: the same N emails
//! (written the same way) handed straight to Belfry's SMTP mailer 16 at a time, with no
//! database and no courier: what the transport and the server allow. The ratio is what storing,
//! claiming, deciding and recording cost on top.
//!
//! Each round uses a fresh database (`belfry_mail_bench`).
//!
//! `cargo run --release -p belfry-bench --bin belfry-mail-bench -- [--rounds N] [--requests EMAILS] [--write FILE]`

#[allow(dead_code)]
#[path = "loadgen/in_process.rs"]
mod in_process;
#[allow(dead_code)]
#[path = "loadgen/mod.rs"]
mod loadgen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use belfry::adapters::smtp_mailer::SmtpMailer;
use belfry::auth::JwtKeys;
use belfry::config::Config;
use belfry::mail::Mailer;
use belfry::mail::compose::{self, Addressee, Item};
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use serde_json::json;

const JWT_SECRET: &str = "mail-bench-secret-mail-bench-secret-mail";
const DATABASE: &str = "belfry_mail_bench";
const CONCURRENCY: usize = 16;

struct SmtpServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SmtpServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("belfry-mail-bench-{port}"));
        std::fs::create_dir_all(&dir).expect("mail directory");
        let python = std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".cache/belfry/aiosmtpd/bin/python"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("python3"));
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/api/smtp/smtp_server.py"
        );
        let child = Command::new(python)
            .args([script, &port.to_string()])
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd's Python (.ci/run installs it)");
        // Owned at once, so that it is killed and waited for however this ends.
        let server = Self { child, port, dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the SMTP server did not start");
    }

    fn received(&self) -> usize {
        count_json(&self.dir)
    }

    /// Waits until `n` emails in all were received; when the last came.
    async fn until(&self, n: usize) -> Instant {
        loop {
            if self.received() >= n {
                return Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn count_json(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// A fresh database with `users` users of church 1, user 1 its admin.
async fn fresh(database_url: &str, users: i64) {
    let _ = belfry::db::drop_database(database_url).await;
    loadgen::seed_staff(database_url, users, 1).await;
    let pool = belfry::db::connect_and_migrate(database_url, 1)
        .await
        .expect("bench database");
    let mut conn = pool.get().await.expect("connection");
    diesel::sql_query("UPDATE users SET role = 'admin' WHERE id = 1")
        .execute(&mut conn)
        .await
        .expect("admin");
}

/// Belfry end to end: seconds from the POST until the SMTP server had all `emails`.
async fn belfry_round(database_url: &str, smtp: &SmtpServer, emails: usize) -> f64 {
    fresh(database_url, emails as i64).await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let server = in_process::start(
        database_url,
        JWT_SECRET,
        &[
            ("BELFRY_SMTP_URL", url.as_str()),
            ("BELFRY_MAIL_EVERY_MS", "100"),
        ],
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
    let mut admin = loadgen::seeded_staff(1, 1);
    admin.role = belfry::domain::Role::Admin;
    let token = keys.mint(&admin).expect("token").token;
    let before = smtp.received();
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/admin/notifications", server.url))
        .bearer_auth(&token)
        .json(&json!({"audience": {"church": true}, "priority": "high",
            "title": "Snow: services cancelled",
            "body": "Stay safe; the livestream starts at 10 and the hall stays closed."}))
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), 202);
    let last = smtp.until(before + emails).await;
    server.shutdown.shutdown();
    (last - started).as_secs_f64()
}

/// The peer: the same emails straight to the mailer, 16 at a time.
async fn transport_round(smtp: &SmtpServer, emails: usize) -> f64 {
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{}", smtp.port),
        "Belfry <belfry@localhost>".parse().expect("address"),
    )
    .expect("mailer");
    let written: Vec<_> = (0..emails)
        .map(|i| {
            let to = format!("user{i}@bench.test");
            compose::notification(
                Addressee {
                    email: &to,
                    name: "Bench user",
                    church_id: Some(1),
                },
                Item {
                    title: "Snow: services cancelled",
                    body: "Stay safe; the livestream starts at 10 and the hall stays closed.",
                },
                "http://127.0.0.1:8080",
            )
        })
        .collect();
    let before = smtp.received();
    let started = Instant::now();
    futures_util::stream::iter(&written)
        .map(|email| mailer.send(email))
        .buffer_unordered(CONCURRENCY)
        .for_each(|sent| async move { sent.expect("accepted") })
        .await;
    let last = smtp.until(before + emails).await;
    (last - started).as_secs_f64()
}

fn main() {
    let in_process::Options {
        rounds,
        requests: emails,
        write_to,
    } = in_process::Options::from_args(3, 2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let database_url = loadgen::named_database_url(DATABASE);
    let report = runtime.block_on(async {
        let smtp = SmtpServer::start();
        let (mut ours, mut peers) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let peer = transport_round(&smtp, emails).await;
            let belfry = belfry_round(&database_url, &smtp, emails).await;
            eprintln!("round {round}: Belfry {belfry:.2} s, transport {peer:.2} s");
            ours.push(emails as f64 / belfry);
            peers.push(emails as f64 / peer);
        }
        let (ours, peer) = (
            in_process::median(&mut ours),
            in_process::median(&mut peers),
        );
        [
            format!(
                "{emails} emails per round to aiosmtpd on loopback (a Python process that parses \
                 each message and writes it to disk); medians of {rounds} rounds"
            ),
            format!(
                "Belfry end to end (POST of a high notification to {emails} offline users, \
                 stored, claimed, decided, written, sent over 16 pooled connections, recorded): \
                 {ours:.0} emails/s"
            ),
            format!(
                "peer, the bare transport (the same emails handed to the SMTP mailer 16 at a \
                 time, no database): {peer:.0} emails/s"
            ),
            format!("Belfry / transport: {:.2}", ours / peer),
        ]
        .join("\n")
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
            "\n### Notification email, {when}\n\nMachine: 2 cores; server, mailer and aiosmtpd on one machine, PostgreSQL beside.\nCommand: `cargo run --release -p belfry-bench --bin belfry-mail-bench -- --rounds {rounds} --requests {emails} --write {file}`\n\n```\n{report}\n```"
        )
        .expect("write");
    }
}
