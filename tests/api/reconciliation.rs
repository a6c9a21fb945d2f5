//! Lost webhooks: a recipient the carrier accepted with no settling report is looked up with
//! the carrier after a while, the answer applied like a webhook; one still unknown at the
//! deadline is `delivery_unconfirmed`.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::{FakeTelnyx, Reply};
use super::helpers::spawn_app_with;

const LOOK_AFTER_A_SECOND: [(&str, &str); 3] = [
    ("BELFRY_RECONCILE_AFTER_SECS", "1"),
    ("BELFRY_RECONCILE_POLL_MS", "100"),
    ("BELFRY_UNCONFIRMED_AFTER_SECS", "4"),
];

fn status_of<'a>(message: &'a Value, pid: &str) -> &'a str {
    message["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["providerMessageId"] == pid)
        .and_then(|r| r["status"].as_str())
        .unwrap()
}

fn recipient_of(message: &Value, pid: &str) -> i64 {
    message["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["providerMessageId"] == pid)
        .and_then(|r| r["id"].as_i64())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn late_recipients_are_looked_up_and_given_up_on_at_the_deadline() {
    let app = spawn_app_with(&LOOK_AFTER_A_SECOND).await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let id = app.send(&staff, &app.grace.member_ids).await;
    let accepted = app.accepted(&staff, id, 3).await;
    let (delivered, failed, silent) = (&accepted[0].1, &accepted[1].1, &accepted[2].1);
    let delivered_recipient = recipient_of(
        &app.get_json(&format!("/api/messages/{id}"), &staff).await,
        delivered,
    );
    // The carrier got on with it; its webhooks never arrived.
    app.telnyx.set_status(delivered, "delivered", json!([]));
    app.telnyx.set_status(
        failed,
        "delivery_failed",
        json!([{"code": "40008", "title": "Undeliverable", "detail": "Handset off"}]),
    );

    let message = app
        .wait_for_message(&staff, id, |m| {
            status_of(m, delivered) == "delivered" && status_of(m, failed) == "delivery_failed"
        })
        .await;
    let failed_row = message["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["providerMessageId"] == failed.as_str())
        .unwrap();
    assert_eq!(
        failed_row["failureReason"],
        "40008 Undeliverable: Handset off"
    );
    // The same events as a webhook's.
    let frames = socket
        .until(Duration::from_secs(5), |f| {
            f["type"] == "message:delivered" && f["recipientId"] == delivered_recipient
        })
        .await;
    assert!(frames.iter().any(|f| f["type"] == "message:delivered"));
    assert_eq!(status_of(&message, silent), "queued");

    // Unknown still at the deadline: given up on, and the look-ups were made with the key.
    let message = app
        .wait_for_message(&staff, id, |m| {
            status_of(m, silent) == "delivery_unconfirmed"
        })
        .await;
    assert_eq!(
        (
            message["deliveredCount"].as_i64(),
            message["failedCount"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let lookups = app.telnyx.lookups();
    assert!(lookups.iter().any(|l| l == silent), "{lookups:?}");
    assert!(lookups.len() >= 3);

    // A webhook that turns up late still moves an unconfirmed recipient on, and never undoes
    // a final one.
    let late = FakeTelnyx::event(
        "late-1",
        "message.finalized",
        silent,
        "+12025550000",
        "delivered",
        json!([]),
    );
    assert_eq!(app.telnyx.post_webhook(&app.url, &late).await.status(), 200);
    let stale = FakeTelnyx::event(
        "late-2",
        "message.sent",
        delivered,
        "+12025550000",
        "sent",
        json!([]),
    );
    assert_eq!(
        app.telnyx.post_webhook(&app.url, &stale).await.status(),
        200
    );
    let message = app
        .wait_for_message(&staff, id, |m| status_of(m, silent) == "delivered")
        .await;
    assert_eq!(status_of(&message, delivered), "delivered");

    // Settled recipients are not asked about again.
    let asked = app.telnyx.lookups().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.telnyx.lookups().len(), asked);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_carrier_is_asked_again_later_not_hammered() {
    let app = spawn_app_with(&[
        ("BELFRY_RECONCILE_AFTER_SECS", "1"),
        ("BELFRY_RECONCILE_POLL_MS", "100"),
    ])
    .await;
    let staff = app.login(&app.grace.staff_email).await;
    let id = app.send(&staff, &app.grace.member_ids).await;
    let accepted = app.accepted(&staff, id, 3).await;
    app.telnyx.fail_lookups(Some(Reply::Fail {
        status: 503,
        code: "10007",
        title: "Unexpected error",
    }));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // One failed look ends a round; each recipient waits a second before its next.
    let failing = app.telnyx.lookups().len();
    assert!((1..=6).contains(&failing), "{failing} look-ups in 2.5 s");

    app.telnyx.fail_lookups(None);
    for (_, pid) in &accepted {
        app.telnyx.set_status(pid, "delivered", json!([]));
    }
    let message = app
        .wait_for_message(&staff, id, |m| m["deliveredCount"] == 3)
        .await;
    assert_eq!(message["status"], "delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_carrier_answers_look_ups_too() {
    let mut overrides = LOOK_AFTER_A_SECOND.to_vec();
    overrides.extend([
        ("TELNYX_API_KEY", ""),
        ("TELNYX_PUBLIC_KEY", ""),
        // Its webhooks go nowhere: only looking up can settle the recipients.
        ("BELFRY_PUBLIC_URL", "http://127.0.0.1:9"),
        ("BELFRY_SANDBOX_DELAY_MS", "20"),
        ("BELFRY_SANDBOX_FAILURE_RATE", "0"),
    ]);
    let app = spawn_app_with(&overrides).await;
    let staff = app.login(&app.grace.staff_email).await;
    let id = app.send(&staff, &app.grace.member_ids).await;
    let message = app
        .wait_for_message(&staff, id, |m| m["deliveredCount"] == 3)
        .await;
    assert_eq!(message["status"], "delivered");
    assert!(
        app.telnyx.requests().is_empty(),
        "the sandbox, not Telnyx, was used"
    );
}
