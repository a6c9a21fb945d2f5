//! Notifications by SMS, to the fake Telnyx over real HTTP: critical ones text everyone who set
//! a phone, others only those who chose SMS for the category, after their quiet hours; the
//! carrier's signed reports settle each text; a refusal is recorded; nothing is sent while the
//! breaker is open.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::{FakeTelnyx, Reply};
use super::helpers::{TestApp, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

async fn texting_app() -> TestApp {
    spawn_app_with(&[("BELFRY_MAIL_EVERY_MS", "100")]).await
}

async fn set_phone(app: &TestApp, token: &str, phone: &str) {
    let set = app
        .patch_json("/api/me", token, &json!({"phone": phone}))
        .await;
    assert_eq!(set.status(), 200);
}

async fn send(app: &TestApp, token: &str, body: Value) -> i64 {
    let sent = app
        .post_json("/api/admin/notifications", Some(token), &body)
        .await;
    assert_eq!(sent.status(), 202);
    sent.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The SMS delivery of `user` in send `id`, once `done` says it has settled.
async fn sms_of(
    app: &TestApp,
    token: &str,
    id: i64,
    user: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = app
            .get_json(&format!("/api/admin/notifications/{id}"), token)
            .await;
        let sms = detail["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["userId"] == user)
            .and_then(|r| {
                r["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["channel"] == "sms")
                    .cloned()
            })
            .unwrap_or(Value::Null);
        if done(&sms) {
            return sms;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The texts the fake Telnyx was asked to send, to `to`.
fn texts_to(app: &TestApp, to: &str) -> Vec<Value> {
    app.telnyx
        .requests()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["to"] == to)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_critical_notification_texts_whoever_set_a_phone_and_reports_settle_it() {
    let app = texting_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    set_phone(&app, &staff, "+15557770001").await;

    let id = send(
        &app,
        &admin,
        json!({"audience": {"church": true}, "priority": "critical",
            "title": "Building closed", "body": "No service today: the heating failed."}),
    )
    .await;
    let sent = sms_of(&app, &admin, id, staff_id, |d| d["status"] == "sent").await;
    assert_eq!(sent["attempts"], 1);
    assert!(sent["sentAt"].is_string(), "{sent}");
    let texts = texts_to(&app, "+15557770001");
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(
        texts[0]["text"],
        "Building closed: No service today: the heating failed."
    );
    assert_eq!(texts[0]["from"], "+15550001111");
    // Critical goes by SMS whatever was chosen, but only to a phone: the admin set none.
    let skipped = sms_of(&app, &admin, id, admin_id, |d| !d.is_null()).await;
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["reason"], "no phone");

    // The carrier's signed report settles the text; a later, stale one changes nothing.
    let provider_id = provider_id_of(&app, id, staff_id).await;
    let delivered = FakeTelnyx::event(
        "evt-sms-1",
        "message.finalized",
        &provider_id,
        "+15557770001",
        "delivered",
        json!([]),
    );
    let answer = app.telnyx.post_webhook(&app.url, &delivered).await;
    assert_eq!(answer.status(), 200);
    let settled = sms_of(&app, &admin, id, staff_id, |d| d["status"] == "delivered").await;
    assert!(settled["reason"].is_null());
    let failed = FakeTelnyx::event(
        "evt-sms-2",
        "message.finalized",
        &provider_id,
        "+15557770001",
        "delivery_failed",
        json!([{"code": "40001", "title": "Not routable"}]),
    );
    let answer = app.telnyx.post_webhook(&app.url, &failed).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["outcome"], "stale");
    let still = sms_of(&app, &admin, id, staff_id, |d| !d.is_null()).await;
    assert_eq!(still["status"], "delivered");
    // A report for a text nobody sent is still unknown, so Telnyx retries it.
    let unknown = FakeTelnyx::event(
        "evt-sms-3",
        "message.finalized",
        "no-such-id",
        "+15557770001",
        "delivered",
        json!([]),
    );
    assert_eq!(
        app.telnyx.post_webhook(&app.url, &unknown).await.status(),
        404
    );

    // The stats count texts like any channel.
    let stats = app.get_json("/api/admin/notifications/stats", &admin).await;
    assert_eq!(stats["channels"]["sms"]["delivered"], 1, "{stats}");
    assert_eq!(stats["channels"]["sms"]["skipped"], 1, "{stats}");
}

/// The carrier id a text was recorded with.
async fn provider_id_of(app: &TestApp, notification_send: i64, user: i64) -> String {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let found: Found = diesel::sql_query(
        "SELECT d.provider_message_id AS id FROM notification_deliveries d \
         JOIN notifications n ON n.id = d.notification_id \
         WHERE n.bulk_id = $1 AND n.user_id = $2 AND d.channel = 'sms'",
    )
    .bind::<BigInt, _>(notification_send)
    .bind::<BigInt, _>(user)
    .get_result(&mut conn)
    .await
    .unwrap();
    found.id
}

#[tokio::test(flavor = "multi_thread")]
async fn texts_go_only_where_chosen_and_wait_out_quiet_hours() {
    let app = texting_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    set_phone(&app, &staff, "+15557770002").await;
    set_phone(&app, &admin, "+15557770003").await;
    let chose = app
        .patch_json(
            "/api/notifications/preferences",
            &staff,
            &json!({"timezone": "Asia/Tokyo", "channels": {"sms": true},
                "categories": {"announcement": {"sms": true}},
                "quietHours": {"enabled": true, "start": "22:00", "end": "07:00"}}),
        )
        .await;
    assert_eq!(chose.status(), 200);
    // 23:30 in Tokyo.
    app.clock.set("2026-12-04T14:30:00Z".parse().unwrap());

    let id = send(
        &app,
        &admin,
        json!({"audience": {"userIds": [staff_id, admin_id]}, "priority": "high",
            "title": "Rota", "body": "The new rota is up"}),
    )
    .await;
    let held = sms_of(&app, &admin, id, staff_id, |d| d["status"] == "held").await;
    assert_eq!(held["reason"], "quiet hours");
    assert_eq!(held["dueAt"], "2026-12-04T22:00:00Z");
    // The admin has a phone but did not choose SMS: no SMS delivery at all.
    let detail = app
        .get_json(&format!("/api/admin/notifications/{id}"), &admin)
        .await;
    let admin_row = detail["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == admin_id)
        .unwrap()
        .clone();
    assert!(
        admin_row["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["channel"] != "sms"),
        "{admin_row}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(texts_to(&app, "+15557770002").is_empty());

    // 07:01 in Tokyo: it goes.
    app.clock.set("2026-12-04T22:01:00Z".parse().unwrap());
    sms_of(&app, &admin, id, staff_id, |d| d["status"] == "sent").await;
    assert_eq!(
        texts_to(&app, "+15557770002")[0]["text"],
        "Rota: The new rota is up"
    );
    assert!(texts_to(&app, "+15557770003").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_text_is_recorded_and_none_goes_while_the_breaker_is_open() {
    let app = texting_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let operator = app.operator().await;
    set_phone(&app, &staff, "+15557770004").await;
    let critical = |title: &str| {
        json!({"audience": {"userIds": [staff_id]}, "priority": "critical",
            "title": title, "body": "Please call the office."})
    };

    // Refused for good: failed with the carrier's words, not tried again.
    app.telnyx.script([Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    }]);
    let id = send(&app, &admin, critical("Urgent")).await;
    let failed = sms_of(&app, &admin, id, staff_id, |d| d["status"] == "failed").await;
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("Invalid 'to' address"),
        "{failed}"
    );
    assert_eq!(failed["attempts"], 1);

    // Forced open: nothing is called; closed again, it goes.
    let forced = app
        .post_json(
            "/api/admin/breaker",
            Some(&operator),
            &json!({"state": "forced_open"}),
        )
        .await;
    assert_eq!(forced.status(), 200);
    let before = app.telnyx.requests().len();
    let id = send(&app, &admin, critical("Still urgent")).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.telnyx.requests().len(), before);
    let waiting = sms_of(&app, &admin, id, staff_id, |d| !d.is_null()).await;
    assert_eq!(waiting["status"], "pending");
    assert_eq!(waiting["attempts"], 0);
    let closed = app
        .post_json(
            "/api/admin/breaker",
            Some(&operator),
            &json!({"state": "closed"}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    sms_of(&app, &admin, id, staff_id, |d| d["status"] == "sent").await;
    assert_eq!(texts_to(&app, "+15557770004").len(), 2);
}
