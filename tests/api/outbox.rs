//! Durable delivery: idempotent sends, and a server killed mid-send that resumes without
//! blindly resending what may have reached Telnyx.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use belfry::db;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::fake_telnyx::{API_KEY, FakeTelnyx};
use super::helpers::{JWT_SECRET, PASSWORD, broadcast_at, fresh_database_url, login_at, spawn_app};

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_replays_the_first_answer_and_sends_nothing_new() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let post = |key: &'static str, body: Value| {
        app.http
            .post(format!("{}/api/messages", app.url))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let request = json!({"body": "Bring a dish", "allMembers": true});
    let first = post("key-1", request.clone()).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    app.telnyx.wait_for_requests(3).await;

    let again = post("key-1", request.clone()).await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);

    let other_body = post(
        "key-1",
        json!({"body": "Bring two dishes", "allMembers": true}),
    )
    .await
    .unwrap();
    assert_eq!(other_body.status(), 422);
    let error: Value = other_body.json().await.unwrap();
    assert_eq!(error["error"]["code"], "idempotency_key_reused");

    // Another key is another send.
    let second = post("key-2", request).await.unwrap();
    assert_eq!(second.status(), 202);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    app.telnyx.wait_for_requests(6).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.telnyx.requests().len(), 6, "the replay sent nothing");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(database_url: &str, port: u16, telnyx: &FakeTelnyx) -> Child {
    Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("BELFRY_ADDR", format!("127.0.0.1:{port}"))
        .env("BELFRY_JWT_SECRET", JWT_SECRET)
        .env("TELNYX_API_KEY", API_KEY)
        .env("TELNYX_BASE_URL", telnyx.base_url())
        .env("TELNYX_PUBLIC_KEY", telnyx.public_key_base64())
        .env("TELNYX_FROM_NUMBER", "+15550001111")
        .env("BELFRY_SENDER_WORKERS", "8")
        .env("BELFRY_OUTBOX_BATCH", "50")
        .env("BELFRY_SEND_RATE", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn wait_until_up(url: &str) {
    for _ in 0..300 {
        if reqwest::get(format!("{url}/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {url} did not come up");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_send_resumes_and_every_recipient_ends_final_without_duplicates() {
    const MEMBERS: usize = 500;
    let database_url = fresh_database_url().await;
    let pool = db::connect_and_migrate(&database_url, 4).await.unwrap();
    let church = db::churches::create(&pool, "Crash Chapel")
        .await
        .unwrap()
        .id;
    belfry::accounts::create_user(
        &pool,
        Some(church),
        "staff@crash.test",
        "Staff",
        "staff",
        PASSWORD.into(),
    )
    .await
    .unwrap();
    for i in 0..MEMBERS {
        let phone = belfry::domain::PhoneNumber::parse(&format!("+1303555{i:04}")).unwrap();
        db::members::create(&pool, church, &format!("Member {i}"), &phone)
            .await
            .unwrap();
    }

    let telnyx = FakeTelnyx::start().await;
    telnyx.set_latency(Duration::from_millis(40));
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = start_server(&database_url, port, &telnyx);
    wait_until_up(&url).await;

    let http = reqwest::Client::new();
    let token = login_at(&url, "staff@crash.test", PASSWORD).await;
    let receipt = broadcast_at(&url, &token, "Evacuation drill at noon").await;
    let message_id = receipt["id"].as_i64().unwrap();

    // Mid-send: some recipients sent, some in flight, most not yet started.
    telnyx.wait_for_requests(120).await;
    server.kill().await.unwrap();
    let at_kill = telnyx.requests().len();
    eprintln!("requests at kill: {at_kill}");
    assert!(at_kill < MEMBERS, "the send finished before the kill");

    let mut server = start_server(&database_url, port, &telnyx);
    wait_until_up(&url).await;

    // Every recipient leaves the outbox: accepted by Telnyx, or dead-lettered.
    use belfry::db::schema::message_recipients::dsl as r;
    let mut conn = db::get(&pool).await.unwrap();
    let mut unfinished = i64::MAX;
    for _ in 0..600 {
        unfinished = r::message_recipients
            .filter(r::message_id.eq(message_id))
            .filter(r::outbox_state.ne("done"))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        if unfinished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unfinished, 0, "recipients still in the outbox");

    let rows: Vec<(String, String)> = r::message_recipients
        .filter(r::message_id.eq(message_id))
        .select((r::phone, r::status))
        .load(&mut conn)
        .await
        .unwrap();
    let mut per_phone: HashMap<String, usize> = HashMap::new();
    for request in telnyx.requests() {
        *per_phone
            .entry(request.body["to"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // The documented policy: a send that may have reached Telnyx is never resent.
    let duplicates: Vec<_> = per_phone.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "sent twice: {duplicates:?}");

    let queued = rows.iter().filter(|(_, s)| s == "queued").count();
    let failed = rows.iter().filter(|(_, s)| s == "failed").count();
    assert_eq!(
        queued + failed,
        MEMBERS,
        "each recipient in exactly one final outbox state"
    );
    // Only what was in flight at the kill is left for review: per worker, one call on the wire
    // and one acceptance the report writer had not committed yet.
    eprintln!(
        "interrupted: {failed}, requests in all: {}",
        telnyx.requests().len()
    );
    assert!(failed <= 2 * 8, "{failed} interrupted sends");
    for (phone, status) in &rows {
        let sent = per_phone.get(phone).copied().unwrap_or(0);
        if status == "queued" {
            assert_eq!(sent, 1, "{phone} accepted but the fake saw {sent} requests");
        }
    }
    let dead: Vec<String> = db::schema::dead_letters::table
        .filter(db::schema::dead_letters::message_id.eq(message_id))
        .select(db::schema::dead_letters::reason)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead.len(), failed);
    assert!(dead.iter().all(|reason| reason.starts_with("interrupted")));

    // Telnyx reports the accepted ones delivered: every recipient is then delivered or in the
    // DLQ, each exactly once.
    let accepted: Vec<(String, Option<String>)> = r::message_recipients
        .filter(r::message_id.eq(message_id))
        .filter(r::status.eq("queued"))
        .select((r::phone, r::provider_message_id))
        .load(&mut conn)
        .await
        .unwrap();
    for (n, chunk) in accepted.chunks(50).enumerate() {
        let posts = chunk.iter().enumerate().map(|(i, (phone, pid))| {
            let body = FakeTelnyx::event(
                &format!("crash-{n}-{i}"),
                "message.finalized",
                pid.as_deref().unwrap(),
                phone,
                "delivered",
                json!([]),
            );
            let (telnyx, url) = (&telnyx, &url);
            async move { telnyx.post_webhook(url, &body).await.status() }
        });
        for status in futures_util::future::join_all(posts).await {
            assert_eq!(status, 200);
        }
    }
    let message: Value = http
        .get(format!("{url}/api/messages/{message_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(message["failedCount"], failed);
    assert_eq!(message["deliveredCount"], MEMBERS - failed);
    assert_eq!(
        message["status"],
        if failed == 0 {
            "delivered"
        } else {
            "completed"
        }
    );
    server.kill().await.unwrap();
}
