//! Delivery analytics: figures a real send produces (the carrier refusing one, delivering some,
//! failing one with a code, a reply and a STOP), first while the message is still going and
//! then from its summary once it is final; and known figures cut into a church's own days and
//! weeks across a daylight-saving change. Other churches see none of it.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::fake_telnyx::{FakeTelnyx, Reply};
use super::helpers::{TestApp, spawn_app};

async fn webhook(app: &TestApp, body: &str) {
    let response = app.telnyx.post_webhook(&app.url, body).await;
    assert_eq!(response.status(), 200);
}

fn finalized(event: &str, pid: &str, phone: &str, status: &str, errors: Value) -> String {
    FakeTelnyx::event(event, "message.finalized", pid, phone, status, errors)
}

/// The report's totals and the intervals that have any recipients.
fn busy_intervals(report: &Value) -> Vec<&Value> {
    report["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["recipients"] != 0)
        .collect()
}

async fn summarized_sent_count(app: &TestApp, message: i64) -> Option<i32> {
    #[derive(diesel::QueryableByName)]
    struct Sent {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        sent_count: Option<i32>,
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let row: Sent = diesel::sql_query("SELECT sent_count FROM messages WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(message)
        .get_result(&mut conn)
        .await
        .unwrap();
    row.sent_count
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sends_figures_are_counted_live_then_from_its_summary() {
    let mut app = spawn_app().await;
    app.add_members(2).await;
    let staff = app.login(&app.grace.staff_email).await;
    let members = app.grace.member_ids.clone();
    assert_eq!(members.len(), 5);
    // The carrier refuses the first send outright; the rest are accepted.
    app.telnyx.script([Reply::Fail {
        status: 422,
        code: "40310",
        title: "Invalid 'to' address",
    }]);
    let message = app.send(&staff, &members).await;
    let shown = app
        .wait_for_message(&staff, message, |m| {
            m["failedCount"] == 1
                && m["recipients"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["providerMessageId"].is_string())
                    .count()
                    == 4
        })
        .await;
    let accepted: Vec<(String, String)> = shown["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            Some((
                r["phone"].as_str()?.to_owned(),
                r["providerMessageId"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let sent: Vec<&(String, String)> = accepted.iter().collect();
    for (i, &(phone, pid)) in sent[..2].iter().enumerate() {
        webhook(
            &app,
            &finalized(&format!("d{i}"), pid, phone, "delivered", json!([])),
        )
        .await;
    }
    let unreachable = json!([{"code": "30003", "title": "Unreachable destination handset"}]);
    let (phone, pid) = &sent[2];
    webhook(
        &app,
        &finalized("f0", pid, phone, "delivery_failed", unreachable),
    )
    .await;
    // A reply, and a STOP from another member.
    webhook(&app, &FakeTelnyx::inbound("in-1", &sent[0].0, "Thank you!")).await;
    webhook(&app, &FakeTelnyx::inbound("in-2", &sent[1].0, "STOP")).await;
    app.wait_for_message(&staff, message, |m| {
        m["deliveredCount"] == 2 && m["failedCount"] == 2
    })
    .await;

    // One recipient is still with the carrier: the figures are counted from the recipients.
    let report = app.get_json("/api/analytics/delivery", &staff).await;
    assert_eq!(report["interval"], "day");
    assert_eq!(report["timezone"], "UTC");
    assert_eq!(report["intervals"].as_array().unwrap().len(), 30);
    assert_eq!(
        report["totals"],
        json!({"recipients": 5, "sent": 4, "delivered": 2, "failed": 2, "deliveryRate": 0.5,
               "replies": 1, "optOuts": 1})
    );
    let busy = busy_intervals(&report);
    assert_eq!(busy.len(), 1, "{report}");
    assert_eq!(busy[0]["sent"], 4);
    let reasons = &report["failureReasons"];
    assert_eq!(reasons.as_array().unwrap().len(), 2, "{reasons}");
    assert_eq!(
        (reasons[0]["code"].clone(), reasons[0]["count"].clone()),
        (json!("30003"), json!(1))
    );
    assert_eq!(
        reasons[0]["example"],
        "30003 Unreachable destination handset"
    );
    assert_eq!(
        (reasons[1]["code"].clone(), reasons[1]["count"].clone()),
        (json!("40310"), json!(1))
    );
    assert_eq!(summarized_sent_count(&app, message).await, None);

    // The last one is delivered: the message is final and is summarized once.
    let (phone, pid) = &sent[3];
    webhook(&app, &finalized("d3", pid, phone, "delivered", json!([]))).await;
    let mut summarized = None;
    for _ in 0..400 {
        summarized = summarized_sent_count(&app, message).await;
        if summarized.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(summarized, Some(4));
    let report = app.get_json("/api/analytics/delivery", &staff).await;
    assert_eq!(
        report["totals"],
        json!({"recipients": 5, "sent": 4, "delivered": 3, "failed": 2, "deliveryRate": 0.75,
               "replies": 1, "optOuts": 1})
    );
    assert_eq!(report["failureReasons"], reasons.clone());

    // Another church sees nothing of it, and cannot ask for it.
    let other = app.login(&app.other.staff_email).await;
    let theirs = app.get_json("/api/analytics/delivery", &other).await;
    assert_eq!(theirs["totals"]["recipients"], 0);
    assert_eq!(theirs["totals"]["replies"], 0);
    assert_eq!(theirs["failureReasons"], json!([]));
    let asked = app
        .get(
            &format!("/api/analytics/delivery?churchId={}", app.grace.id),
            &other,
        )
        .await;
    assert_eq!(asked.status(), 403);
    // An operator names the church.
    let operator = app.operator().await;
    let seen = app
        .get_json(
            &format!("/api/analytics/delivery?churchId={}", app.grace.id),
            &operator,
        )
        .await;
    assert_eq!(seen["totals"], report["totals"]);
}

async fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(sql).execute(&mut conn).await.unwrap();
}

/// A finished message of `church` that went out at `at` (or `send_at`), stored as the
/// pipeline leaves one: `delivered` recipients delivered, and for each `(code, n)` n failed
/// with that carrier code (`skipped`: opted out, never sent). The summary job takes it from
/// there. Its recipients are the church's first members.
pub(super) async fn finished_message(
    app: &TestApp,
    church: i64,
    at: &str,
    send_at: Option<&str>,
    delivered: i32,
    codes: &[(&str, i32)],
    status: &str,
) {
    let failed: i32 = codes.iter().map(|c| c.1).sum();
    let recipients = delivered + failed;
    let send_at = send_at.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    let mut conn = app.state.pool.get().await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let id = diesel::sql_query(format!(
        "INSERT INTO messages (church_id, sender_id, body, status, recipient_count, \
             delivered_count, failed_count, created_at, send_at) \
         SELECT {church}, id, 'known', '{status}', {recipients}, {delivered}, {failed}, \
             '{at}', {send_at} FROM users WHERE church_id = {church} LIMIT 1 RETURNING id"
    ))
    .get_result::<Id>(&mut conn)
    .await
    .unwrap()
    .id;
    let mut outcomes = vec![("delivered", "NULL".to_owned(), true); delivered as usize];
    for (code, n) in codes {
        let outcome = match *code {
            "skipped" => ("skipped", "'opted out'".to_owned(), false),
            code => ("delivery_failed", format!("'{code} known'"), true),
        };
        outcomes.extend(std::iter::repeat_n(outcome, *n as usize));
    }
    for (i, (status, reason, accepted)) in outcomes.into_iter().enumerate() {
        let accepted_at = if accepted { "now()" } else { "NULL" };
        execute(
            app,
            &format!(
                "INSERT INTO message_recipients (message_id, member_id, phone, status, \
                     status_rank, failure_reason, accepted_at, outbox_state) \
                 SELECT {id}, id, phone, '{status}', 5, {reason}, {accepted_at}, 'done' \
                 FROM members WHERE church_id = {church} ORDER BY id OFFSET {i} LIMIT 1"
            ),
        )
        .await;
    }
}

/// Waits until the summary job has summarized every finished message.
pub(super) async fn all_summarized(app: &TestApp) {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let query = format!(
        "SELECT count(*) AS n FROM messages WHERE sent_count IS NULL AND {}",
        belfry::db::delivery_summaries::finished_sql()
    );
    for _ in 0..400 {
        let mut conn = app.state.pool.get().await.unwrap();
        let waiting: Waiting = diesel::sql_query(&query)
            .get_result(&mut conn)
            .await
            .unwrap();
        if waiting.n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("finished messages were never summarized");
}

#[tokio::test(flavor = "multi_thread")]
async fn known_figures_fall_into_the_churchs_own_days_and_weeks_across_a_clock_change() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let response = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"timezone": "America/Chicago"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let grace = app.grace.id;
    // Chicago's clocks go forward at 2026-03-08 08:00Z: CST (-6) before, CDT (-5) after.
    let mut app = app;
    app.add_members(7).await;
    for i in 0..7 {
        let phone = belfry::domain::PhoneNumber::parse(&format!("+1303555{i:04}")).unwrap();
        belfry::db::members::create(&app.state.pool, app.other.id, "Other", &phone)
            .await
            .unwrap();
    }
    // 23:30 on Friday 6 March, Chicago time.
    finished_message(
        &app,
        grace,
        "2026-03-07T05:30:00Z",
        None,
        8,
        &[("30003", 1), ("skipped", 1)],
        "completed",
    )
    .await;
    // 01:30 on Sunday 8 March, before the change.
    finished_message(
        &app,
        grace,
        "2026-03-08T07:30:00Z",
        None,
        4,
        &[],
        "delivered",
    )
    .await;
    // 00:30 on Monday 9 March in daylight time (23:30 on the 8th had the clocks not changed).
    finished_message(
        &app,
        grace,
        "2026-03-09T05:30:00Z",
        None,
        3,
        &[("30003", 2), ("40008", 1)],
        "completed",
    )
    .await;
    // Accepted on 1 March for the 10th: it counts when it went out.
    finished_message(
        &app,
        grace,
        "2026-03-01T15:00:00Z",
        Some("2026-03-10T15:00:00Z"),
        2,
        &[],
        "delivered",
    )
    .await;
    // Cancelled: never went out.
    finished_message(
        &app,
        grace,
        "2026-03-09T15:00:00Z",
        None,
        0,
        &[("skipped", 3)],
        "cancelled",
    )
    .await;
    // Another church's message on the same day.
    finished_message(
        &app,
        app.other.id,
        "2026-03-09T15:00:00Z",
        None,
        0,
        &[("30003", 7)],
        "failed",
    )
    .await;
    all_summarized(&app).await;
    // 23:45 on the 8th and 00:00 on the 9th, Chicago daylight time.
    execute(
        &app,
        &format!(
            "INSERT INTO church_tallies VALUES ({grace}, '2026-03-09T04:45:00Z', 2, 0), \
             ({grace}, '2026-03-09T05:00:00Z', 0, 1), ({}, '2026-03-09T05:00:00Z', 9, 9)",
            app.other.id
        ),
    )
    .await;

    let by_day = app
        .get_json(
            "/api/analytics/delivery?since=2026-03-06&until=2026-03-10",
            &admin,
        )
        .await;
    assert_eq!(by_day["timezone"], "America/Chicago");
    let day = |start: &str, figures: Value| {
        let mut interval = figures;
        interval["start"] = json!(start);
        interval
    };
    let zero = json!({"recipients": 0, "sent": 0, "delivered": 0, "failed": 0,
                      "deliveryRate": null, "replies": 0, "optOuts": 0});
    assert_eq!(
        by_day["intervals"],
        json!([
            day(
                "2026-03-06",
                json!({"recipients": 10, "sent": 9, "delivered": 8, "failed": 2,
                "deliveryRate": 0.8889, "replies": 0, "optOuts": 0})
            ),
            day("2026-03-07", zero.clone()),
            day(
                "2026-03-08",
                json!({"recipients": 4, "sent": 4, "delivered": 4, "failed": 0,
                "deliveryRate": 1.0, "replies": 2, "optOuts": 0})
            ),
            day(
                "2026-03-09",
                json!({"recipients": 6, "sent": 6, "delivered": 3, "failed": 3,
                "deliveryRate": 0.5, "replies": 0, "optOuts": 1})
            ),
            day(
                "2026-03-10",
                json!({"recipients": 2, "sent": 2, "delivered": 2, "failed": 0,
                "deliveryRate": 1.0, "replies": 0, "optOuts": 0})
            ),
        ])
    );
    assert_eq!(
        by_day["totals"],
        json!({"recipients": 22, "sent": 21, "delivered": 17, "failed": 5,
               "deliveryRate": 0.8095, "replies": 2, "optOuts": 1})
    );
    assert_eq!(
        by_day["failureReasons"],
        json!([
            {"code": "30003", "example": "30003 known", "count": 3},
            {"code": "40008", "example": "40008 known", "count": 1},
            {"code": "skipped", "example": "opted out", "count": 1},
        ])
    );

    // Weeks start on Monday: 2 March holds the 6th to the 8th, 9 March the rest.
    let by_week = app
        .get_json(
            "/api/analytics/delivery?since=2026-03-06&until=2026-03-10&interval=week",
            &admin,
        )
        .await;
    let weeks = by_week["intervals"].as_array().unwrap();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0]["start"], "2026-03-02");
    assert_eq!(
        (weeks[0]["recipients"].clone(), weeks[0]["replies"].clone()),
        (json!(14), json!(2))
    );
    assert_eq!(weeks[1]["start"], "2026-03-09");
    assert_eq!(
        (weeks[1]["recipients"].clone(), weeks[1]["optOuts"].clone()),
        (json!(8), json!(1))
    );
    assert_eq!(by_week["totals"], by_day["totals"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_period_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    for (query, says) in [
        ("since=yesterday", "since must be a date"),
        ("until=2026-02-30", "until must be a date"),
        ("interval=month", "interval must be day or week"),
        (
            "since=2026-03-02&until=2026-03-01",
            "since must not be after until",
        ),
        ("since=2020-01-01&until=2026-01-01", "at most 731 days"),
    ] {
        let response = app
            .get(&format!("/api/analytics/delivery?{query}"), &staff)
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_period", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    let unknown = app.get("/api/analytics/delivery?church=1", &staff).await;
    assert_eq!(unknown.status(), 400);
    let anonymous = app
        .http
        .get(format!("{}/api/analytics/delivery", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_left_unconfirmed_is_summarized_once_settled_and_again_after_a_late_failure() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let members = &app.grace.member_ids[..2];
    let message = app.send(&staff, members).await;
    let sent = app.accepted(&staff, message, 2).await;
    webhook(
        &app,
        &finalized("d0", &sent[0].1, &sent[0].0, "delivered", json!([])),
    )
    .await;
    webhook(
        &app,
        &finalized(
            "u1",
            &sent[1].1,
            &sent[1].0,
            "delivery_unconfirmed",
            json!([]),
        ),
    )
    .await;
    let shown = app
        .wait_for_message(&staff, message, |m| {
            m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "delivered" || r["status"] == "delivery_unconfirmed")
        })
        .await;
    // Never final: the message stays `sending`.
    assert_eq!(shown["status"], "sending");
    // Left alone long enough (as if ten minutes had gone by), it is summarized all the same.
    execute(
        &app,
        &format!(
            "UPDATE messages SET updated_at = now() - interval '11 minutes' WHERE id = {message}"
        ),
    )
    .await;
    let mut summarized = None;
    for _ in 0..600 {
        summarized = summarized_sent_count(&app, message).await;
        if summarized.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(summarized, Some(2));
    let report = app.get_json("/api/analytics/delivery", &staff).await;
    assert_eq!(
        (
            report["totals"]["sent"].clone(),
            report["totals"]["delivered"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(report["failureReasons"], json!([]));

    // The carrier reports the unconfirmed one failed after all: the summary is made again.
    let late = json!([{"code": "30008", "title": "Unknown error"}]);
    webhook(
        &app,
        &finalized("f1", &sent[1].1, &sent[1].0, "delivery_failed", late),
    )
    .await;
    let mut report = Value::Null;
    for _ in 0..400 {
        report = app.get_json("/api/analytics/delivery", &staff).await;
        if report["failureReasons"] != json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        report["failureReasons"],
        json!([{"code": "30008", "example": "30008 Unknown error", "count": 1}])
    );
    assert_eq!(report["totals"]["failed"], 1);
    for _ in 0..400 {
        if summarized_sent_count(&app, message).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(summarized_sent_count(&app, message).await, Some(2));
    // Summarized again: what the first summary added was taken back out, not counted twice.
    let again = app.get_json("/api/analytics/delivery", &staff).await;
    assert_eq!(again["failureReasons"], report["failureReasons"]);
    assert_eq!(
        again["totals"],
        json!({"recipients": 2, "sent": 2, "delivered": 1, "failed": 1, "deliveryRate": 0.5,
               "replies": 0, "optOuts": 0})
    );
}
