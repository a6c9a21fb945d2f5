use std::time::Duration;

use serde_json::Value;

use super::fake_telnyx::Reply;
use super::helpers::{TestApp, spawn_app_with};

async fn breaker_until(app: &TestApp, admin: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..250 {
        last = app.get_json("/api/admin/breaker", admin).await;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("breaker never reached the expected state: {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_breaker_opens_holds_sends_then_probes_and_releases_them() {
    let app = spawn_app_with(&[
        ("BELFRY_BREAKER_FAILURE_THRESHOLD", "2"),
        ("BELFRY_BREAKER_OPEN_MS", "800"),
        ("BELFRY_SEND_MAX_ATTEMPTS", "5"),
    ])
    .await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let fail = Reply::Fail {
        status: 503,
        code: "10007",
        title: "Unexpected error",
    };
    app.telnyx.script([fail.clone(), fail]);

    let first = app.send(&staff, &app.grace.member_ids[..1]).await;
    let open = breaker_until(&app, &admin, |b| b["state"] == "open").await;
    assert_eq!(open["timesOpened"], 1);
    assert_eq!(open["failures"], 2);

    // While open, nothing reaches Telnyx: the retry and a new send are held.
    let second = app.send(&staff, &app.grace.member_ids[1..]).await;
    let before = app.telnyx.requests().len();
    assert_eq!(before, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = app.get_json("/api/admin/breaker", &admin).await;
    assert_eq!(held["state"], "open", "{held}");
    assert_eq!(held["held"], 3);
    assert_eq!(
        app.telnyx.requests().len(),
        before,
        "a request reached Telnyx while open"
    );

    // After the wait one probe goes through, succeeds, and everything held follows.
    let closed = breaker_until(&app, &admin, |b| {
        b["state"] == "closed" && b["successes"] == 3
    })
    .await;
    assert_eq!(closed["held"], 0);
    app.telnyx.wait_for_requests(5).await;
    for (id, n) in [(first, 1), (second, 2)] {
        app.wait_for_message(&staff, id, |m| {
            m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] == "queued")
                .count()
                == n
        })
        .await;
    }
    assert_eq!(app.telnyx.requests().len(), 5);
}
