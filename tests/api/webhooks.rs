use serde_json::{Value, json};

use super::fake_telnyx::FakeTelnyx;
use super::helpers::{TestApp, spawn_app};

async fn one_accepted(app: &TestApp) -> (String, i64, String, String) {
    let token = app.login(&app.grace.staff_email).await;
    let id = app.send(&token, &[app.grace.member_ids[0]]).await;
    let message = app
        .wait_for_message(&token, id, |m| {
            m["recipients"][0]["providerMessageId"].is_string()
        })
        .await;
    let r = &message["recipients"][0];
    (
        token,
        id,
        r["phone"].as_str().unwrap().to_owned(),
        r["providerMessageId"].as_str().unwrap().to_owned(),
    )
}

async fn recipient_status(app: &TestApp, token: &str, id: i64) -> String {
    let m = app.get_json(&format!("/api/messages/{id}"), token).await;
    m["recipients"][0]["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signatures_stale_timestamps_and_replays_change_nothing() {
    let app = spawn_app().await;
    let (token, id, phone, carrier_id) = one_accepted(&app).await;
    let delivered = FakeTelnyx::event(
        "evt-1",
        "message.finalized",
        &carrier_id,
        &phone,
        "delivered",
        json!([]),
    );
    let now = chrono::Utc::now().timestamp();

    // Signed over other bytes.
    let other_bytes = delivered.replace("delivered", "delivered ");
    let response = app
        .telnyx
        .post_webhook_signed(
            &app.url,
            &delivered,
            now,
            &app.telnyx.sign(now, &other_bytes),
        )
        .await;
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_signature");
    // Correctly signed, but too old, and too far in the future.
    // A few seconds past the tolerance, so a second ticking over mid-test cannot bring it inside.
    for ts in [now - 305, now + 305] {
        let response = app
            .telnyx
            .post_webhook_signed(&app.url, &delivered, ts, &app.telnyx.sign(ts, &delivered))
            .await;
        assert_eq!(response.status(), 401);
    }
    // No signature at all.
    let response = app
        .http
        .post(format!("{}/webhooks/telnyx", app.url))
        .body(delivered.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(recipient_status(&app, &token, id).await, "queued");

    // Valid: applied once.
    let response = app.telnyx.post_webhook(&app.url, &delivered).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["outcome"],
        "applied"
    );
    assert_eq!(recipient_status(&app, &token, id).await, "delivered");

    // A replay of the same event id, even claiming another status, changes nothing.
    let replay = FakeTelnyx::event(
        "evt-1",
        "message.finalized",
        &carrier_id,
        &phone,
        "delivery_failed",
        json!([]),
    );
    let response = app.telnyx.post_webhook(&app.url, &replay).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["outcome"],
        "duplicate"
    );
    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["recipients"][0]["status"], "delivered");
    assert_eq!(message["deliveredCount"], 1);
    assert_eq!(message["failedCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_sent_does_not_undo_delivered() {
    let app = spawn_app().await;
    let (token, id, phone, carrier_id) = one_accepted(&app).await;
    let finalized = FakeTelnyx::event(
        "fin",
        "message.finalized",
        &carrier_id,
        &phone,
        "delivered",
        json!([]),
    );
    let sent = FakeTelnyx::event(
        "sent",
        "message.sent",
        &carrier_id,
        &phone,
        "sent",
        json!([]),
    );
    assert_eq!(
        app.telnyx.post_webhook(&app.url, &finalized).await.status(),
        200
    );
    let response = app.telnyx.post_webhook(&app.url, &sent).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["outcome"], "stale");
    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["status"], "delivered");
    assert_eq!(message["recipients"][0]["status"], "delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_failure_report_counts_as_failed_with_its_reason() {
    let app = spawn_app().await;
    let (token, id, phone, carrier_id) = one_accepted(&app).await;
    let mut socket = app.connect(&token).await;
    let errors = json!([{"code": "40008", "title": "Undeliverable", "detail": "Carrier rejected"}]);
    let failed = FakeTelnyx::event(
        "fin",
        "message.finalized",
        &carrier_id,
        &phone,
        "delivery_failed",
        errors,
    );
    assert_eq!(
        app.telnyx.post_webhook(&app.url, &failed).await.status(),
        200
    );
    let frames = socket
        .until(std::time::Duration::from_secs(5), |f| {
            f["type"] == "message:failed"
        })
        .await;
    let event = frames.last().unwrap();
    assert_eq!(
        event["failureReason"],
        "40008 Undeliverable: Carrier rejected"
    );
    assert_eq!(event["failedCount"], 1);
    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_for_an_unknown_message_is_refused_so_telnyx_retries_it() {
    let app = spawn_app().await;
    let body = FakeTelnyx::event(
        "evt-x",
        "message.sent",
        "40000000-0000-0000-0000-000000000000",
        "+12025550100",
        "sent",
        json!([]),
    );
    let response = app.telnyx.post_webhook(&app.url, &body).await;
    assert_eq!(response.status(), 404);
    // Not recorded as seen: the retry is looked at again.
    assert_eq!(app.telnyx.post_webhook(&app.url, &body).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_arriving_together_are_applied_once_each_with_increasing_totals() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    let id = app.send(&token, &app.grace.member_ids).await;
    let message = app
        .wait_for_message(&token, id, |m| {
            m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["providerMessageId"].is_string())
        })
        .await;
    let mut bodies = Vec::new();
    for (i, r) in message["recipients"].as_array().unwrap().iter().enumerate() {
        let (pid, phone) = (
            r["providerMessageId"].as_str().unwrap(),
            r["phone"].as_str().unwrap(),
        );
        bodies.push(FakeTelnyx::event(
            &format!("s{i}"),
            "message.sent",
            pid,
            phone,
            "sent",
            json!([]),
        ));
        let done = FakeTelnyx::event(
            &format!("f{i}"),
            "message.finalized",
            pid,
            phone,
            "delivered",
            json!([]),
        );
        bodies.push(done.clone());
        bodies.push(done);
    }
    bodies.push(FakeTelnyx::event(
        "x",
        "message.sent",
        "40000000-0000-0000-0000-00000000000f",
        "+12025550100",
        "sent",
        json!([]),
    ));
    let responses =
        futures_util::future::join_all(bodies.iter().map(|b| app.telnyx.post_webhook(&app.url, b)))
            .await;
    let mut outcomes = Vec::new();
    for response in responses {
        if response.status() == 404 {
            outcomes.push("unknown".to_owned());
            continue;
        }
        assert_eq!(response.status(), 200);
        outcomes.push(
            response.json::<Value>().await.unwrap()["outcome"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let count = |o: &str| outcomes.iter().filter(|x| *x == o).count();
    assert_eq!(count("unknown"), 1);
    assert_eq!(count("duplicate"), 3, "{outcomes:?}");
    // A `sent` may arrive after its `delivered` in the same burst and be stale.
    assert_eq!(count("applied") + count("stale"), 6, "{outcomes:?}");
    assert!(count("applied") >= 3);

    let frames = socket
        .until(std::time::Duration::from_secs(5), |f| {
            f["deliveredCount"] == 3
        })
        .await;
    let delivered: Vec<i64> = frames
        .iter()
        .filter(|f| f["type"] == "message:delivered")
        .map(|f| f["deliveredCount"].as_i64().unwrap())
        .collect();
    assert_eq!(delivered, [1, 2, 3], "each delivery counted once, in order");
    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(message["status"], "delivered");
    assert_eq!(message["deliveredCount"], 3);
}

/// Measured before: 32 reports carrying a NUL sent together with 32 good ones made 14 of the
/// good ones answer 500, their batch failing as a whole in PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn reports_with_a_nul_are_refused_alone_and_every_other_report_is_applied() {
    let mut app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let members = app.add_members(32).await;
    let id = app.send(&token, &members).await;
    let mut bodies = Vec::new();
    for (i, (phone, pid)) in app.accepted(&token, id, 32).await.iter().enumerate() {
        let (pid, phone) = (pid.as_str(), phone.as_str());
        let nul = json!([{"code": "40008", "title": "Undeliverable", "detail": "bad\u{0}byte"}]);
        bodies.push((
            false,
            FakeTelnyx::event(
                &format!("n{i}"),
                "message.finalized",
                pid,
                phone,
                "delivery_failed",
                nul,
            ),
        ));
        bodies.push((
            true,
            FakeTelnyx::event(
                &format!("g{i}"),
                "message.finalized",
                pid,
                phone,
                "delivered",
                json!([]),
            ),
        ));
    }
    let responses = futures_util::future::join_all(
        bodies
            .iter()
            .map(|(_, b)| app.telnyx.post_webhook(&app.url, b)),
    )
    .await;
    for ((good, _), response) in bodies.iter().zip(responses) {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if *good {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["outcome"], "applied", "{body}");
        } else {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["error"]["code"], "invalid_text", "{body}");
        }
    }
    let message = app
        .wait_for_message(&token, id, |m| m["status"] == "delivered")
        .await;
    assert_eq!(message["deliveredCount"], 32);
}
