use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::{API_KEY, FakeTelnyx, Reply};
use super::helpers::spawn_app;

const WAIT: Duration = Duration::from_secs(10);

/// Waits until every recipient has the carrier's id, then returns `(phone, carrier id)`.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_reaches_telnyx_and_its_status_reaches_every_socket_of_the_church_only() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut grace_socket = app.connect(&token).await;
    let other_token = app.login(&app.other.staff_email).await;
    let mut other_socket = app.connect(&other_token).await;

    let id = app.send(&token, &app.grace.member_ids).await;

    let requests = app.telnyx.wait_for_requests(3).await;
    let members = app.get_json("/api/members", &token).await;
    let mut expected_to: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    let mut seen_to: Vec<&str> = requests
        .iter()
        .map(|r| r.body["to"].as_str().unwrap())
        .collect();
    expected_to.sort();
    seen_to.sort();
    assert_eq!(seen_to, expected_to);
    for r in &requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        assert_eq!(r.body["from"], "+15550001111");
        assert_eq!(r.body["text"], "Service at 10am");
        assert_eq!(
            r.body["webhook_url"],
            format!("{}/webhooks/telnyx", app.url)
        );
    }

    let recipients = app.accepted(&token, id, 3).await;
    for (i, (phone, carrier_id)) in recipients.iter().enumerate() {
        let sent = FakeTelnyx::event(
            &format!("sent-{i}"),
            "message.sent",
            carrier_id,
            phone,
            "sent",
            json!([]),
        );
        assert_eq!(app.telnyx.post_webhook(&app.url, &sent).await.status(), 200);
    }
    let frames = grace_socket
        .until(WAIT, |f| f["type"] == "message:sent")
        .await;
    assert_eq!(frames.last().unwrap()["messageId"], id);
    for (i, (phone, carrier_id)) in recipients.iter().enumerate() {
        let done = FakeTelnyx::event(
            &format!("fin-{i}"),
            "message.finalized",
            carrier_id,
            phone,
            "delivered",
            json!([]),
        );
        assert_eq!(app.telnyx.post_webhook(&app.url, &done).await.status(), 200);
    }
    let frames = grace_socket
        .until(WAIT, |f| {
            f["type"] == "message:delivered" && f["deliveredCount"] == 3
        })
        .await;
    let last = frames.last().unwrap();
    assert_eq!(last["recipientCount"], 3);
    assert_eq!(last["messageStatus"], "delivered");

    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["status"], "delivered");
    assert_eq!(message["deliveredCount"], 3);
    assert!(
        message["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "delivered")
    );

    // The other church saw nothing of it.
    while let Some(frame) = other_socket.next_json(Duration::from_millis(300)).await {
        assert!(
            !frame["type"].as_str().unwrap_or("").starts_with("message:"),
            "{frame}"
        );
    }
    // And cannot read it.
    assert_eq!(
        app.get(&format!("/api/messages/{id}"), &other_token)
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn telnyx_500_twice_then_200_is_retried_and_delivered() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let fail = Reply::Fail {
        status: 500,
        code: "10007",
        title: "Unexpected error",
    };
    app.telnyx.script([fail.clone(), fail]);
    let member = app.grace.member_ids[0];
    let id = app.send(&token, &[member]).await;

    let recipients = app.accepted(&token, id, 1).await;
    assert_eq!(app.telnyx.requests().len(), 3);
    let (phone, carrier_id) = &recipients[0];
    let done = FakeTelnyx::event(
        "fin",
        "message.finalized",
        carrier_id,
        phone,
        "delivered",
        json!([]),
    );
    assert_eq!(app.telnyx.post_webhook(&app.url, &done).await.status(), 200);
    let message = app
        .wait_for_message(&token, id, |m| m["status"] == "delivered")
        .await;
    assert_eq!(message["recipients"][0]["attempts"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_rejection_is_not_retried_and_goes_to_the_dead_letter_queue() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    app.telnyx.script([Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    }]);
    let member = app.grace.member_ids[1];
    let id = app.send(&token, &[member]).await;

    let frames = socket.until(WAIT, |f| f["type"] == "message:failed").await;
    let failed = frames.last().unwrap();
    assert_eq!(failed["messageId"], id);
    assert_eq!(failed["failedCount"], 1);
    let reason = failed["failureReason"].as_str().unwrap();
    assert!(reason.contains("40310"), "{reason}");

    let admin = app.login(&app.grace.admin_email).await;
    let dlq = app.get_json("/api/admin/dlq", &admin).await;
    let items = dlq["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["messageId"], id);
    assert_eq!(items[0]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(items[0]["attempts"][0]["httpStatus"], 400);
    assert_eq!(items[0]["attempts"][0]["code"], "40310");
    assert_eq!(
        app.telnyx.requests().len(),
        1,
        "a permanent error is not retried"
    );

    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["status"], "failed");
    // Staff cannot read the DLQ; the other church's admin does not see this entry.
    assert_eq!(app.get("/api/admin/dlq", &token).await.status(), 403);
    let other_admin = app.login(&app.other.admin_email).await;
    let other: Value = app.get_json("/api/admin/dlq", &other_admin).await;
    assert!(other["items"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_retries_and_timeouts_end_in_the_dead_letter_queue() {
    let app = super::helpers::spawn_app_with(&[("BELFRY_SEND_TIMEOUT_MS", "200")]).await;
    let token = app.login(&app.grace.staff_email).await;
    app.telnyx.always(Reply::Hang);
    let id = app.send(&token, &[app.grace.member_ids[0]]).await;
    let message = app
        .wait_for_message(&token, id, |m| m["status"] == "failed")
        .await;
    let reason = message["recipients"][0]["failureReason"].as_str().unwrap();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert_eq!(app.telnyx.requests().len(), 3);
    // Timeouts counted as failures, and no worker is left waiting on the hung calls.
    let admin = app.login(&app.grace.admin_email).await;
    let breaker = app.get_json("/api/admin/breaker", &admin).await;
    assert_eq!(breaker["counts"]["failures"], 3);
    assert_eq!(breaker["inFlight"], 0);
    app.telnyx.always(Reply::Accept);
    let next = app.send(&token, &app.grace.member_ids).await;
    app.wait_for_message(&token, next, |m| {
        m["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "queued")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sending_validates_its_input() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let cases = [
        (json!({"body": "", "allMembers": true}), 400, "invalid_body"),
        (json!({"body": "hi"}), 400, "invalid_recipients"),
        (
            json!({"body": "hi", "memberIds": [], }),
            400,
            "invalid_recipients",
        ),
        (
            json!({"body": "hi", "memberIds": [1], "allMembers": true}),
            400,
            "invalid_recipients",
        ),
        (
            json!({"body": "hi", "memberIds": [app.other.member_ids[0]]}),
            422,
            "unknown_members",
        ),
        (
            json!({"body": "hi", "allMembers": true, "extra": 1}),
            400,
            "invalid_json",
        ),
    ];
    for (body, status, code) in cases {
        let response = app.post_json("/api/messages", Some(&token), &body).await;
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
    }
    assert!(app.telnyx.requests().is_empty());

    let response = app
        .post_json(
            "/api/messages",
            Some(&token),
            &json!({"body": "To all", "allMembers": true}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["recipientCount"], 3);
    app.telnyx.wait_for_requests(3).await;
}
