//! Scheduled sends: held until `sendAt` and then sent once, across a restart and with two
//! nodes on one database; listed with `status=scheduled`; cancelled while they wait; refused
//! for a time in the past, too far ahead, or not a time at all.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};

async fn schedule(app: &TestApp, token: &str, in_secs: i64) -> (Value, Instant) {
    let send_at = Utc::now() + chrono::Duration::seconds(in_secs);
    let due = Instant::now() + Duration::from_secs(in_secs as u64);
    let response = app
        .post_json(
            "/api/messages",
            Some(token),
            &json!({"body": "Choir practice moved to 7", "allMembers": true,
                    "sendAt": send_at.to_rfc3339()}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["status"], "scheduled");
    let echoed: chrono::DateTime<Utc> = receipt["sendAt"].as_str().unwrap().parse().unwrap();
    assert!((echoed - send_at).num_milliseconds().abs() < 1);
    (receipt, due)
}

/// Waits until the carrier has `n` requests, then a while longer to see that no more come.
async fn sent_exactly(app: &TestApp, n: usize, due: Instant) {
    let requests = app.telnyx.wait_for_requests(n).await;
    for request in &requests {
        assert!(request.at >= due, "sent before its time");
        // On time: within two seconds of sendAt.
        assert!(request.at <= due + Duration::from_secs(2), "sent late");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.telnyx.requests().len(), n, "a recipient was sent twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_send_waits_for_its_time_and_goes_once_after_a_restart() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let (receipt, due) = schedule(&app, &staff, 3).await;
    let id = receipt["id"].as_i64().unwrap();
    let created = socket
        .until(Duration::from_secs(5), |f| f["type"] == "message:created")
        .await
        .pop()
        .unwrap();
    assert_eq!(created["messageId"], id);
    assert_eq!(created["status"], "scheduled");
    let waiting = app.get_json("/api/messages?status=scheduled", &staff).await;
    assert_eq!(waiting["messages"][0]["id"], id);
    assert!(waiting["messages"][0]["sendAt"].is_string());

    // Nothing before its time; then the server restarts before it is due.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(app.telnyx.requests().is_empty());
    socket.close().await;
    app.stop();
    let restarted = app.another_server().await;
    sent_exactly(&app, app.grace.member_ids.len(), due).await;
    let message: Value = app
        .http
        .get(format!("{}/api/messages/{id}", restarted.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(message["status"], "scheduled");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_send_a_scheduled_message_once() {
    let app = spawn_app().await;
    let _second = app.another_server().await;
    let staff = app.login(&app.grace.staff_email).await;
    let (_, due) = schedule(&app, &staff, 2).await;
    sent_exactly(&app, app.grace.member_ids.len(), due).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_message_can_be_cancelled_and_bad_times_are_refused() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let (receipt, _) = schedule(&app, &staff, 2).await;
    let id = receipt["id"].as_i64().unwrap();
    let path = format!("{}/api/messages/{id}", app.url);
    let other = app.login(&app.other.staff_email).await;
    let intruder = app
        .http
        .delete(&path)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(intruder.status(), 404);
    let cancelled = app
        .http
        .delete(&path)
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let body: Value = cancelled.json().await.unwrap();
    assert_eq!(body["status"], "cancelled");
    let event = socket
        .until(Duration::from_secs(5), |f| f["type"] == "message:cancelled")
        .await
        .pop()
        .unwrap();
    assert_eq!(event["messageId"], id);
    let again = app
        .http
        .delete(&path)
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    // Its time passes and nothing is sent.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert!(app.telnyx.requests().is_empty());

    // A message sent at once has started: too late to cancel.
    let now = app.send(&staff, &app.grace.member_ids).await;
    let started = app
        .http
        .delete(format!("{}/api/messages/{now}", app.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 409);

    for bad in [
        json!((Utc::now() - chrono::Duration::minutes(1)).to_rfc3339()),
        json!((Utc::now() + chrono::Duration::days(400)).to_rfc3339()),
        json!("next tuesday"),
    ] {
        let response = app
            .post_json(
                "/api/messages",
                Some(&staff),
                &json!({"body": "x", "allMembers": true, "sendAt": bad}),
            )
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_send_at");
    }
}
