//! Notifications' email, delivered to a real SMTP server process (aiosmtpd): the fallback for
//! what stays unread, at once for someone away when it matters, held through quiet hours (and
//! a restart) in the user's own zone, critical past every choice, a digest at the user's local
//! time, a refusal recorded with the server's reason, a busy server retried; and the sandbox
//! mailer's kept mail, each church seeing its own. Time moves by the server's clock port.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app, spawn_app_with};
use super::real_smtp::RealSmtp;

pub async fn mail_app() -> (TestApp, RealSmtp) {
    let smtp = RealSmtp::start().await;
    let app = spawn_app_with(&[
        ("BELFRY_SMTP_URL", &smtp.url()),
        ("BELFRY_MAIL_FROM", "Belfry Notices <notices@belfry.test>"),
        ("BELFRY_MAIL_EVERY_MS", "100"),
    ])
    .await;
    (app, smtp)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// An admin's send to `users`; its id.
async fn send(app: &TestApp, admin: &str, users: &[i64], title: &str, priority: &str) -> i64 {
    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(admin),
            &json!({"audience": {"userIds": users}, "title": title,
                "body": "Bring a <b>friend</b> & a chair", "priority": priority}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    sent.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The email delivery of send `id` to `user`, once `done` holds for it.
async fn email_delivery(
    app: &TestApp,
    admin: &str,
    id: i64,
    user: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let detail = app
            .get_json(&format!("/api/admin/notifications/{id}"), admin)
            .await;
        let row = detail["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["userId"] == user)
            .cloned()
            .expect("the user is a recipient");
        assert_eq!(row["deliveries"][0]["channel"], "in_app");
        last = row["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["channel"] == "email")
            .cloned()
            .expect("an email delivery");
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the email delivery never got there: {last}");
}

/// Pending until the fallback delay is over (not merely due for its first look).
fn waits_for_fallback(delivery: &Value) -> bool {
    let at = |field: &str| delivery[field].as_str().map(utc);
    delivery["status"] == "pending"
        && matches!((at("dueAt"), at("createdAt")),
            (Some(due), Some(created)) if due - created > chrono::Duration::seconds(200))
}

fn status(wanted: &'static str) -> impl Fn(&Value) -> bool {
    move |d| d["status"] == wanted
}

async fn patch_preferences(app: &TestApp, token: &str, body: Value) {
    let changed = app
        .patch_json("/api/notifications/preferences", token, &body)
        .await;
    assert_eq!(changed.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_stays_unread_is_emailed_after_the_fallback_delay_and_what_was_read_is_not() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    let id = send(
        &app,
        &admin,
        &[staff_id, admin_id],
        "Choir <practice>",
        "normal",
    )
    .await;

    // Both wait for the fallback delay (300 s) from when they were stored.
    let waiting = email_delivery(&app, &admin, id, staff_id, waits_for_fallback).await;
    let due = utc(waiting["dueAt"].as_str().unwrap());
    let created = utc(waiting["createdAt"].as_str().unwrap());
    assert!(
        (due - created - chrono::Duration::seconds(300))
            .num_seconds()
            .abs()
            <= 2
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.received().is_empty(), "{:?}", smtp.received());

    // The admin reads theirs in the app; then the delay passes.
    let inbox = app.get_json("/api/notifications", &admin).await;
    let mine = inbox["notifications"][0]["id"].as_i64().unwrap();
    let read = app
        .post_json(
            &format!("/api/notifications/{mine}/read"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    app.clock.set(Utc::now() + chrono::Duration::seconds(301));

    let mail = smtp.wait_for(1).await;
    let email = &mail[0];
    assert_eq!(email["rcptTos"], json!([app.grace.staff_email]));
    assert_eq!(email["mailFrom"], "notices@belfry.test");
    assert!(email["from"].as_str().unwrap().contains("Belfry Notices"));
    assert_eq!(email["subject"], "Choir <practice>");
    let text = email["text"].as_str().unwrap();
    assert!(text.contains("Bring a <b>friend</b> & a chair"), "{text}");
    assert!(
        text.contains(&format!("{}/#/notifications", app.url)),
        "{text}"
    );
    let html = email["html"].as_str().unwrap();
    assert!(html.contains("Choir &lt;practice&gt;"), "{html}");
    assert!(
        html.contains("&lt;b&gt;friend&lt;&#x2f;b&gt; &amp; a chair"),
        "{html}"
    );

    let sent = email_delivery(&app, &admin, id, staff_id, status("sent")).await;
    assert!(sent["sentAt"].is_string());
    assert_eq!(sent["attempts"], 1);
    let skipped = email_delivery(&app, &admin, id, admin_id, status("skipped")).await;
    assert_eq!(skipped["reason"], "read in the app");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn high_priority_goes_at_once_to_someone_away_and_later_to_someone_online() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    let _online = app.connect(&admin).await;

    let id = send(&app, &admin, &[staff_id, admin_id], "Roof leak", "high").await;
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["rcptTos"], json!([app.grace.staff_email]));
    email_delivery(&app, &admin, id, staff_id, status("sent")).await;
    // The admin has the app open: theirs waits to see whether they read it there.
    email_delivery(&app, &admin, id, admin_id, waits_for_fallback).await;
    assert_eq!(smtp.received().len(), 1);

    app.clock.set(Utc::now() + chrono::Duration::seconds(301));
    let mail = smtp.wait_for(2).await;
    assert_eq!(mail[1]["rcptTos"], json!([app.grace.admin_email]));
    assert_eq!(mail[1]["subject"], "Roof leak");
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_hours_hold_email_through_a_restart_and_critical_goes_past_every_choice() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    // Quiet from 22:00 to 07:00 in Tokyo, whatever zone the church keeps; and no email about
    // announcements at all.
    patch_preferences(
        &app,
        &staff,
        json!({"timezone": "Asia/Tokyo",
            "quietHours": {"enabled": true, "start": "22:00", "end": "07:00"}}),
    )
    .await;
    // 23:00 in Tokyo.
    app.clock.set(utc("2026-07-01T14:00:00Z"));
    let held = send(&app, &admin, &[staff_id], "Rota for Sunday", "high").await;
    let delivery = email_delivery(&app, &admin, held, staff_id, status("held")).await;
    assert_eq!(delivery["reason"], "quiet hours");
    assert_eq!(
        utc(delivery["dueAt"].as_str().unwrap()),
        utc("2026-07-01T22:00:00Z")
    );

    patch_preferences(
        &app,
        &staff,
        json!({"categories": {"announcement": {"email": false}}}),
    )
    .await;
    let muted = send(&app, &admin, &[staff_id], "Coffee rota", "high").await;
    let delivery = email_delivery(&app, &admin, muted, staff_id, status("skipped")).await;
    assert_eq!(delivery["reason"], "preference");
    let critical = send(&app, &admin, &[staff_id], "Building evacuated", "critical").await;
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["subject"], "Building evacuated");
    email_delivery(&app, &admin, critical, staff_id, status("sent")).await;

    // A restart in the night: the held email is in the database, not in memory.
    app.stop();
    let _next = app.another_server().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1);
    // 07:00:01 in Tokyo.
    app.clock.set(utc("2026-07-01T22:00:01Z"));
    let mail = smtp.wait_for(2).await;
    assert_eq!(mail[1]["subject"], "Rota for Sunday");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2, "the muted one is never sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn low_notifications_wait_for_one_digest_at_the_users_local_time() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    patch_preferences(
        &app,
        &staff,
        json!({"timezone": "Europe/London", "digest": {"frequency": "daily", "at": "08:00"}}),
    )
    .await;
    // 11:00 in London (BST): the next digest is tomorrow at 08:00, 07:00 UTC.
    app.clock.set(utc("2026-07-01T10:00:00Z"));
    let first = send(&app, &admin, &[staff_id], "Hymn list", "low").await;
    let second = send(&app, &admin, &[staff_id], "Flower rota", "low").await;
    let read = send(&app, &admin, &[staff_id], "Car park", "low").await;
    for id in [first, second, read] {
        let held = email_delivery(&app, &admin, id, staff_id, status("held")).await;
        assert_eq!(held["reason"], "digest");
        assert_eq!(
            utc(held["dueAt"].as_str().unwrap()),
            utc("2026-07-02T07:00:00Z")
        );
    }
    let inbox = app.get_json("/api/notifications", &staff).await;
    let car_park = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["title"] == "Car park")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let marked = app
        .post_json(
            &format!("/api/notifications/{car_park}/read"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(marked.status(), 200);

    app.clock.set(utc("2026-07-02T07:00:01Z"));
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["subject"], "Your Belfry digest: 2 notifications");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Hymn list") && text.contains("Flower rota"),
        "{text}"
    );
    assert!(!text.contains("Car park"), "{text}");
    assert!(
        mail[0]["html"]
            .as_str()
            .unwrap()
            .contains("<strong>Flower rota</strong>")
    );
    for id in [first, second] {
        email_delivery(&app, &admin, id, staff_id, status("sent")).await;
    }
    let skipped = email_delivery(&app, &admin, read, staff_id, status("skipped")).await;
    assert_eq!(skipped["reason"], "read in the app");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 1, "one email for the whole digest");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_address_fails_with_the_reason_and_a_busy_server_is_tried_again() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (admin_id, staff_id) = (app.user_id(&admin), app.user_id(&staff));
    let mut conn = app.state.pool.get().await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE users SET email = 'refused@grace.test' WHERE id = {staff_id}"
        )),
        &mut conn,
    )
    .await
    .unwrap();
    drop(conn);

    let refused = send(&app, &admin, &[staff_id], "Elders meeting", "high").await;
    let failed = email_delivery(&app, &admin, refused, staff_id, status("failed")).await;
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("550") || reason.contains("No such mailbox"),
        "{reason}"
    );
    assert_eq!(failed["attempts"], 1);

    smtp.set_busy(true);
    let busy = send(&app, &admin, &[admin_id], "Budget draft", "high").await;
    let waiting = email_delivery(&app, &admin, busy, admin_id, |d| {
        d["status"] == "pending" && d["attempts"] == 1
    })
    .await;
    let reason = waiting["reason"].as_str().unwrap();
    assert!(
        reason.contains("451") || reason.contains("busy"),
        "{reason}"
    );
    let retry_in = utc(waiting["dueAt"].as_str().unwrap()) - app_now(&app);
    assert!(retry_in > chrono::Duration::seconds(20), "{retry_in}");
    assert!(smtp.received().is_empty());

    smtp.set_busy(false);
    app.clock.set(Utc::now() + chrono::Duration::seconds(31));
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["subject"], "Budget draft");
    let sent = email_delivery(&app, &admin, busy, admin_id, status("sent")).await;
    assert_eq!(sent["attempts"], 2);
}

fn app_now(app: &TestApp) -> DateTime<Utc> {
    belfry::clock::Clock::now(app.clock.as_ref())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_smtp_server_the_sandbox_keeps_each_churchs_mail_for_its_admins() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    send(&app, &admin, &[staff_id], "Welcome team", "high").await;

    let mut kept = Value::Null;
    for _ in 0..100 {
        kept = app.get_json("/api/admin/mail", &admin).await;
        if !kept["mail"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kept["sandbox"], true);
    let mail = &kept["mail"][0];
    assert_eq!(mail["to"], app.grace.staff_email);
    assert_eq!(mail["subject"], "Welcome team");
    assert!(mail["html"].as_str().unwrap().contains("&lt;b&gt;friend"));

    let operator = app.operator().await;
    let everyone = app.get_json("/api/admin/mail", &operator).await;
    assert_eq!(everyone["mail"][0]["subject"], "Welcome team");
    let other_admin = app.login(&app.other.admin_email).await;
    let theirs = app.get_json("/api/admin/mail", &other_admin).await;
    assert_eq!(theirs["mail"], json!([]));
    assert_eq!(app.get("/api/admin/mail", &staff).await.status(), 403);
    let bad = app.get("/api/admin/mail?limit=0", &admin).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_limit"
    );
}
