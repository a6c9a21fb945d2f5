//! A church's admins pause their own church's sending: its sends are accepted and held, no
//! carrier call is made for it, other churches go on; on resume what waited goes out.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{Church, TestApp, spawn_app};

/// The phones the test seeded for a church's members.
fn phones(church: &Church) -> HashSet<String> {
    (0..church.member_ids.len())
        .map(|i| format!("+1202555{:04}", church.id * 100 + i as i64))
        .collect()
}

fn calls_to(app: &TestApp, phones: &HashSet<String>) -> usize {
    app.telnyx
        .requests()
        .iter()
        .filter(|r| r.body["to"].as_str().is_some_and(|to| phones.contains(to)))
        .count()
}

async fn set_sending(app: &TestApp, token: &str, query: &str, body: Value) -> reqwest::Response {
    app.post_json(&format!("/api/admin/sending{query}"), Some(token), &body)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_church_is_held_alone_and_resumes_in_order() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let other_admin = app.login(&app.other.admin_email).await;
    let other_staff = app.login(&app.other.staff_email).await;
    let mut admin_socket = app.connect(&admin).await;
    let grace_phones = phones(&app.grace);

    // Staff may not pause, nor may another church's admin pause this one.
    let refused = set_sending(&app, &staff, "", json!({"paused": true})).await;
    assert_eq!(refused.status(), 403);
    let query = format!("?churchId={}", app.grace.id);
    let refused = set_sending(&app, &other_admin, &query, json!({"paused": true})).await;
    assert_eq!(refused.status(), 403);
    let bad = set_sending(
        &app,
        &admin,
        "",
        json!({"paused": true, "reason": "a\u{7}"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "invalid_reason");

    let paused = set_sending(
        &app,
        &admin,
        "",
        json!({"paused": true, "reason": "wrong list"}),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["reason"], "wrong list");
    assert_eq!(paused["pausedBy"], app.user_id(&admin));
    assert!(paused["pausedAt"].is_string());
    let frames = admin_socket
        .until(Duration::from_secs(5), |f| f["type"] == "sending:paused")
        .await;
    let event = frames.last().unwrap();
    assert_eq!(event["churchId"], app.grace.id);
    assert_eq!(event["reason"], "wrong list");

    // Both churches send; only the other one's reach the carrier.
    let held = app.send(&staff, &app.grace.member_ids).await;
    let other_message = app.send(&other_staff, &app.other.member_ids).await;
    app.accepted(&other_staff, other_message, app.other.member_ids.len())
        .await;
    // A server started now (a restart, or another node) holds the church too.
    let restarted = app.another_server().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(calls_to(&app, &grace_phones), 0, "a paused church was sent");
    let state = app.get_json("/api/admin/sending", &admin).await;
    assert_eq!(state["paused"], true);
    assert_eq!(state["waiting"], app.grace.member_ids.len());
    let other_state = app.get_json("/api/admin/sending", &other_admin).await;
    assert_eq!(other_state["paused"], false);

    let resumed = set_sending(&app, &admin, "", json!({"paused": false})).await;
    assert_eq!(resumed.status(), 200);
    let resumed: Value = resumed.json().await.unwrap();
    assert_eq!(resumed["paused"], false);
    assert_eq!(resumed["reason"], Value::Null);
    let frames = admin_socket
        .until(Duration::from_secs(5), |f| f["type"] == "sending:resumed")
        .await;
    assert_eq!(frames.last().unwrap()["by"], app.user_id(&admin));
    app.accepted(&staff, held, app.grace.member_ids.len()).await;
    assert_eq!(calls_to(&app, &grace_phones), app.grace.member_ids.len());
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_pause_any_church_and_staff_sockets_hear_nothing_of_it() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut staff_socket = app.connect(&staff).await;
    let mut admin_socket = app.connect(&admin).await;

    // An operator of no church must name one.
    let unnamed = set_sending(&app, &operator, "", json!({"paused": true})).await;
    assert_eq!(unnamed.status(), 403);
    let query = format!("?churchId={}", app.grace.id);
    let paused = set_sending(&app, &operator, &query, json!({"paused": true})).await;
    assert_eq!(paused.status(), 200);
    let missing = set_sending(&app, &operator, "?churchId=999999", json!({"paused": true})).await;
    assert_eq!(missing.status(), 404);
    admin_socket
        .until(Duration::from_secs(5), |f| f["type"] == "sending:paused")
        .await;
    let admin_view = app.get_json("/api/admin/sending", &admin).await;
    assert_eq!(admin_view["paused"], true);
    assert_eq!(admin_view["pausedBy"], app.user_id(&operator));
    assert_eq!(app.get("/api/admin/sending", &staff).await.status(), 403);

    let mut seen = Vec::new();
    while let Some(frame) = staff_socket.next_json(Duration::from_millis(500)).await {
        seen.push(frame);
    }
    assert!(
        seen.iter().all(|f| f["type"] != "sending:paused"),
        "staff got an admins' event: {seen:?}"
    );
}
