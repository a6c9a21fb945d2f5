//! The binary itself: operations commands, configuration errors, and the demo with the sandbox
//! carrier.

use std::process::Stdio;
use std::time::Duration;

use belfry::auth::JwtKeys;
use belfry::config::Config;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_tungstenite::connect_async;

use super::helpers::{JWT_SECRET, broadcast_at, fresh_database_url, login_at};

const BIN: &str = env!("CARGO_BIN_EXE_belfry");

async fn belfry(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_commands_print_only_the_new_id_or_token() {
    let db = fresh_database_url().await;
    let (ok, out, _) = belfry(&db, &["migrate"]).await;
    assert!(ok);
    assert_eq!(out, "");

    let (ok, church, _) = belfry(
        &db,
        &["admin", "create-church", "--name", "Hope Fellowship"],
    )
    .await;
    assert!(ok);
    let church: i64 = church.trim().parse().expect("only the id on stdout");

    let church_arg = church.to_string();
    let user_args = [
        "admin",
        "create-user",
        "--church",
        &church_arg,
        "--email",
        "Pastor@Hope.example",
        "--name",
        "Pastor Jo",
        "--role",
        "admin",
        "--password",
        "a long password",
    ];
    let (ok, user, _) = belfry(&db, &user_args).await;
    assert!(ok);
    let user: i64 = user.trim().parse().expect("only the id on stdout");

    let (ok, _, err) = belfry(&db, &user_args).await;
    assert!(!ok, "the same email twice");
    assert!(err.contains("--email"), "{err}");
    let (ok, _, err) = belfry(
        &db,
        &[
            "admin",
            "create-user",
            "--church",
            &church_arg,
            "--email",
            "x@hope.example",
            "--name",
            "X",
            "--role",
            "owner",
            "--password",
            "a long password",
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("--role"), "{err}");

    let (ok, token, _) = belfry(&db, &["token", "--email", "pastor@hope.example"]).await;
    assert!(ok);
    let env = |name: &str| (name == "BELFRY_JWT_SECRET").then(|| JWT_SECRET.to_owned());
    let keys = JwtKeys::new(Config::from_source(&env, None).unwrap().jwt);
    let caller = keys.authenticate(token.trim()).expect("a valid token");
    assert_eq!((caller.user_id, caller.church_id), (user, Some(church)));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let db = fresh_database_url().await;
    let out = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        .env("BELFRY_ADDR", "not-an-address")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("BELFRY_ADDR"), "{err}");

    let out = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env_remove("BELFRY_JWT_SECRET")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("BELFRY_JWT_SECRET")
    );
}

/// Starts `belfry demo` and returns the child with its URL and a staff token from its output.
async fn start_demo(db: &str) -> (tokio::process::Child, String, String) {
    let mut child = Command::new(BIN)
        .arg("demo")
        .env("DATABASE_URL", db)
        .env("BELFRY_ADDR", "127.0.0.1:0")
        .env("BELFRY_SANDBOX_DELAY_MS", "20")
        .env("BELFRY_SANDBOX_FAILURE_RATE", "0")
        .env_remove("TELNYX_API_KEY")
        .env_remove("BELFRY_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while token.is_none() {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("demo prints its instructions")
            .unwrap()
            .expect("demo exited early");
        if let Some(rest) = line.split("running at ").nth(1) {
            url = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if let Some(t) = line.trim().strip_prefix("TOKEN=") {
            token = Some(t.to_owned());
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url.expect("demo prints its URL"), token.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_delivers_through_the_sandbox_carrier_and_reseeds_idempotently() {
    let db = fresh_database_url().await;
    let (mut child, url, token) = start_demo(&db).await;

    let ws_url = format!("{}/ws?token={token}", url.replacen("http", "ws", 1));
    let (mut socket, _) = connect_async(ws_url).await.unwrap();
    use futures_util::StreamExt;
    let accepted = broadcast_at(&url, &token, "Potluck on Sunday").await;
    assert_eq!(accepted["recipientCount"], 10);

    // The sandbox posts signed webhooks back; the socket sees every recipient delivered.
    let mut saw_sent = false;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("events keep coming")
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_str(&frame.into_text().unwrap()).unwrap();
        saw_sent |= event["type"] == "message:sent";
        if event["type"] == "message:delivered" && event["deliveredCount"] == 10 {
            assert_eq!(event["messageStatus"], "delivered");
            break;
        }
    }
    assert!(saw_sent);
    // Then the sender hears that their broadcast finished.
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("the notice comes")
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_str(&frame.into_text().unwrap()).unwrap();
        if event["type"] == "notification:new" {
            assert_eq!(event["notification"]["category"], "delivery");
            break;
        }
    }
    child.kill().await.unwrap();

    // Again on the same database: the same churches, users and members, no duplicates.
    let (mut child, url, _) = start_demo(&db).await;
    let token = login_at(&url, "staff@grace.example", belfry::demo::DEMO_PASSWORD).await;
    let members: Value = reqwest::Client::new()
        .get(format!("{url}/api/members"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members["members"].as_array().unwrap().len(), 10);
    // The inbox holds the welcome once, and the first run's broadcast's notice.
    let inbox: Value = reqwest::Client::new()
        .get(format!("{url}/api/notifications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Your message finished: 10 of 10 delivered",
            "Welcome to Belfry"
        ]
    );
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn json_log_format_writes_one_json_object_per_line() {
    let db = fresh_database_url().await;
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        .env("BELFRY_ADDR", "127.0.0.1:0")
        .env_remove("TELNYX_API_KEY")
        .env("BELFRY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server logs its start")
            .unwrap()
            .expect("the server exited early");
        let entry: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["timestamp"].is_string(), "{entry}");
        assert!(entry["level"].is_string(), "{entry}");
        if entry["fields"]["message"] == "belfry listening" {
            assert!(
                entry["fields"]["addr"]
                    .as_str()
                    .unwrap()
                    .starts_with("127.0.0.1:")
            );
            break;
        }
    }
    child.kill().await.unwrap();

    let out = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        .env("BELFRY_LOG_FORMAT", "xml")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("BELFRY_LOG_FORMAT"), "{err}");
}
