//! STOP and START: members who opt out are not sent to until they opt back in.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::{FakeTelnyx, Reply};
use super::helpers::{TestApp, spawn_app, spawn_app_with};

async fn inbound(app: &TestApp, event_id: &str, from: &str, text: &str) -> String {
    let response = app
        .telnyx
        .post_webhook(&app.url, &FakeTelnyx::inbound(event_id, from, text))
        .await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["outcome"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn send_all(app: &TestApp, token: &str) -> Value {
    let response = app
        .post_json(
            "/api/messages",
            Some(token),
            &json!({"body": "Rehearsal tonight", "allMembers": true}),
        )
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_skips_the_member_until_start() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let stopper = app.grace.member_ids[1];
    let phone = app.phone_of(&token, stopper).await;

    assert_eq!(inbound(&app, "in-1", &phone, "Stop").await, "opted_out");
    assert_eq!(inbound(&app, "in-1", &phone, "Stop").await, "duplicate");
    // Not a keyword: an ordinary text for the church's conversations, opting nobody in or out.
    assert_eq!(
        inbound(&app, "in-2", &phone, "stop the reminders please").await,
        "received"
    );
    let members = app.get_json("/api/members", &token).await;
    let member = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == stopper)
        .unwrap();
    assert!(member["optedOutAt"].is_string());

    let receipt = send_all(&app, &token).await;
    assert_eq!(receipt["recipientCount"], 2);
    assert_eq!(
        receipt["skipped"],
        json!([{"memberId": stopper, "reason": "opted_out"}])
    );
    let requests = app.telnyx.wait_for_requests(2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.telnyx.requests().len(), 2);
    assert!(requests.iter().all(|r| r.body["to"] != phone.as_str()));

    // Choosing only opted-out members is refused.
    let only = app
        .post_json(
            "/api/messages",
            Some(&token),
            &json!({"body": "Hi", "memberIds": [stopper]}),
        )
        .await;
    assert_eq!(only.status(), 422);
    assert_eq!(
        only.json::<Value>().await.unwrap()["error"]["code"],
        "all_opted_out"
    );

    assert_eq!(inbound(&app, "in-3", &phone, "START").await, "opted_in");
    let receipt = send_all(&app, &token).await;
    assert_eq!(receipt["recipientCount"], 3);
    assert_eq!(receipt["skipped"], json!([]));
    let requests = app.telnyx.wait_for_requests(5).await;
    assert!(requests[2..].iter().any(|r| r.body["to"] == phone.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn telnyx_40300_opts_the_member_out_and_dead_letters_the_send() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let member = app.grace.member_ids[0];
    app.telnyx.script([Reply::Fail {
        status: 400,
        code: "40300",
        title: "Blocked due to STOP message",
    }]);
    let id = app.send(&token, &[member]).await;
    let message = app
        .wait_for_message(&token, id, |m| m["status"] == "failed")
        .await;
    assert!(
        message["recipients"][0]["failureReason"]
            .as_str()
            .unwrap()
            .contains("40300")
    );
    let members = app.get_json("/api/members", &token).await;
    let row = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == member)
        .unwrap();
    assert!(row["optedOutAt"].is_string(), "{row}");
    let receipt = send_all(&app, &token).await;
    assert_eq!(receipt["skipped"][0]["memberId"], member);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_opts_out_before_their_turn_is_skipped_and_reported() {
    let app = spawn_app_with(&[("BELFRY_SENDER_WORKERS", "1")]).await;
    app.telnyx.set_latency(Duration::from_millis(300));
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    let last = *app.grace.member_ids.last().unwrap();
    let phone = app.phone_of(&token, last).await;
    let id = app.send(&token, &app.grace.member_ids).await;
    assert_eq!(inbound(&app, "in-late", &phone, "STOP").await, "opted_out");

    let frames = socket
        .until(Duration::from_secs(10), |f| f["type"] == "message:failed")
        .await;
    let skipped = frames.last().unwrap();
    assert_eq!(skipped["memberId"], last);
    assert_eq!(skipped["status"], "skipped");
    assert!(
        skipped["failureReason"]
            .as_str()
            .unwrap()
            .contains("opted out")
    );
    let message = app
        .wait_for_message(&token, id, |m| {
            m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] != "pending")
        })
        .await;
    assert_eq!(app.telnyx.requests().len(), 2);
    assert_eq!(message["failedCount"], 1);
}
