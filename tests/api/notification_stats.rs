//! `GET /api/admin/notifications/stats` over real HTTP: deliveries per channel and status, the
//! read rate and median time to read, email fallbacks, each church seeing only its own people's,
//! and the period and category checked.

use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};

async fn send(app: &TestApp, admin: &str, users: &[i64], priority: &str) {
    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(admin),
            &json!({"audience": {"userIds": users}, "title": "Rota", "body": "Sunday",
                "priority": priority}),
        )
        .await;
    assert_eq!(sent.status(), 202);
}

async fn stats(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let response = app
        .get(&format!("/api/admin/notifications/stats{query}"), token)
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_what_became_of_their_churchs_notifications() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    // Two for later (normal: emailed only if left unread), one that matters to someone away.
    send(&app, &admin, &[staff_id, admin_id], "normal").await;
    send(&app, &admin, &[staff_id], "high").await;
    let inbox = app
        .get_json("/api/notifications?status=unread", &admin)
        .await;
    let mine = inbox["notifications"][0]["id"].as_i64().unwrap();
    let read = app
        .post_json(
            &format!("/api/notifications/{mine}/read"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);

    // The high one is emailed at once (the sandbox keeps it).
    let mut figures = Value::Null;
    for _ in 0..100 {
        figures = stats(&app, &admin, "").await.1;
        if figures["channels"]["email"]["sent"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(figures["notifications"], 3);
    assert_eq!(figures["read"], 1);
    let rate = figures["readRate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert!(figures["medianSecondsToRead"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        figures["channels"]["in_app"],
        json!({"pending": 0, "held": 0, "sent": 0, "delivered": 2, "read": 1, "failed": 0,
            "skipped": 0})
    );
    assert_eq!(figures["channels"]["email"]["sent"], 1);
    // The two normal ones wait for the fallback delay; the one read may already be dropped.
    let email = &figures["channels"]["email"];
    assert_eq!(
        email["pending"].as_i64().unwrap() + email["skipped"].as_i64().unwrap(),
        2
    );
    assert_eq!(figures["emailFallbacks"], 1);
    assert_eq!(figures["digestsSent"], 0);
    assert_eq!(figures["channels"]["sms"]["sent"], 0);

    // By category, and by period.
    let (_, system) = stats(&app, &admin, "?category=system").await;
    assert_eq!(system["notifications"], 0);
    let (_, past) = stats(
        &app,
        &admin,
        "?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(past["notifications"], 0);
    assert_eq!(past["readRate"], Value::Null);

    // Another church's admin sees none of it, and may not ask for it; operators see it all.
    let other = app.login(&app.other.admin_email).await;
    let (_, theirs) = stats(&app, &other, "").await;
    assert_eq!(theirs["notifications"], 0);
    let (code, _) = stats(&app, &other, &format!("?churchId={}", app.grace.id)).await;
    assert_eq!(code, 403);
    let operator = app.operator().await;
    let (_, everyone) = stats(&app, &operator, "").await;
    assert_eq!(everyone["notifications"], 3);
    let (_, one) = stats(&app, &operator, &format!("?churchId={}", app.other.id)).await;
    assert_eq!(one["notifications"], 0);

    // Bad input is named; staff may not look.
    for (query, code) in [
        ("?since=yesterday", "invalid_period"),
        (
            "?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "invalid_period",
        ),
        (
            "?since=2024-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "invalid_period",
        ),
        ("?category=gossip", "invalid_category"),
    ] {
        let (status, body) = stats(&app, &admin, query).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}"
        );
    }
    assert_eq!(stats(&app, &staff, "").await.0, 403);
}
