//! Church quiet hours: off until an admin sets them in the church's time zone; a send that
//! would start inside them is scheduled for their end unless an admin marks it urgent; a
//! broadcast still going when they begin waits, and goes on when they end.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::America::Chicago;
use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app, spawn_app_with};

fn hhmm(at: DateTime<Utc>) -> String {
    at.with_timezone(&Chicago).format("%H:%M").to_string()
}

/// Quiet hours in Chicago from an hour ago to an hour ahead: quiet now.
async fn quiet_now(app: &TestApp, admin: &str) -> Value {
    let now = Utc::now();
    let response = app
        .patch_json(
            "/api/admin/church",
            admin,
            &json!({"timezone": "America/Chicago", "quietHours": {"enabled": true,
                    "start": hhmm(now - TimeDelta::hours(1)), "end": hhmm(now + TimeDelta::hours(1))}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let settings: Value = response.json().await.unwrap();
    assert_eq!(settings["quietWindow"]["now"], true, "{settings}");
    settings
}

async fn quiet_off(app: &TestApp, admin: &str) {
    let off = app
        .patch_json(
            "/api/admin/church",
            admin,
            &json!({"quietHours": {"enabled": false}}),
        )
        .await;
    assert_eq!(off.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_hours_are_off_until_an_admin_sets_them_and_bad_values_are_named() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let settings = app.get_json("/api/admin/church", &admin).await;
    assert_eq!(
        settings["quietHours"],
        json!({"enabled": false, "start": "21:00", "end": "08:00"})
    );
    assert!(settings["quietWindow"].is_null());

    let patch = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { app.patch_json("/api/admin/church", &token, &body).await }
    };
    let refused = patch(&staff, json!({"quietHours": {"enabled": true}})).await;
    assert_eq!(refused.status(), 403, "staff cannot change them");
    for (body, code, names) in [
        (
            json!({"timezone": "Mars/Olympus"}),
            "invalid_timezone",
            "Mars/Olympus",
        ),
        (
            json!({"quietHours": {"start": "25:00"}}),
            "invalid_quiet_hours",
            "quietHours.start",
        ),
        (
            json!({"quietHours": {"end": "8am"}}),
            "invalid_quiet_hours",
            "quietHours.end",
        ),
        (
            json!({"quietHours": {"start": "08:00"}}),
            "invalid_quiet_hours",
            "different",
        ),
    ] {
        let response = patch(&admin, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{message}");
    }
    let unchanged = app.get_json("/api/admin/church", &admin).await;
    assert_eq!(unchanged["timezone"], "UTC", "nothing refused was stored");

    let set = patch(
        &admin,
        json!({"timezone": "America/Chicago", "quietHours": {"enabled": true}}),
    )
    .await;
    assert_eq!(set.status(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["timezone"], "America/Chicago");
    assert_eq!(set["quietHours"]["enabled"], true);
    let from: DateTime<Utc> = set["quietWindow"]["from"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let until: DateTime<Utc> = set["quietWindow"]["until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(hhmm(from), "21:00");
    assert_eq!(hhmm(until), "08:00");
    assert!(until > Utc::now() && until - from <= TimeDelta::hours(12));

    // The other church is untouched.
    let other = app.login(&app.other.admin_email).await;
    let theirs = app.get_json("/api/admin/church", &other).await;
    assert_eq!(theirs["quietHours"]["enabled"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_inside_quiet_hours_waits_for_their_end_unless_an_admin_marks_it_urgent() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let settings = quiet_now(&app, &admin).await;
    let end = settings["quietHours"]["end"].as_str().unwrap().to_owned();

    let held = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Late news", "allMembers": true}),
        )
        .await;
    assert_eq!(held.status(), 202);
    let held: Value = held.json().await.unwrap();
    assert_eq!(held["status"], "scheduled");
    assert_eq!(held["heldForQuietHours"], true);
    let send_at: DateTime<Utc> = held["sendAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        hhmm(send_at),
        end,
        "scheduled for the end, in Chicago's time"
    );
    assert!(send_at > Utc::now() && send_at <= Utc::now() + TimeDelta::minutes(61));

    // A time asked for inside quiet hours moves to their end as well.
    let later = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Later news", "allMembers": true,
                    "sendAt": (Utc::now() + TimeDelta::minutes(5)).to_rfc3339()}),
        )
        .await;
    let later: Value = later.json().await.unwrap();
    assert_eq!(later["heldForQuietHours"], true);
    assert_eq!(later["sendAt"], held["sendAt"]);

    let staff_urgent = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Urgent", "allMembers": true, "urgent": true}),
        )
        .await;
    assert_eq!(staff_urgent.status(), 403, "only admins mark a send urgent");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        app.telnyx.requests().is_empty(),
        "nothing goes in quiet hours"
    );

    let urgent = app
        .post_json(
            "/api/messages",
            Some(&admin),
            &json!({"body": "The service is cancelled: snow", "allMembers": true, "urgent": true}),
        )
        .await;
    assert_eq!(urgent.status(), 202);
    let urgent: Value = urgent.json().await.unwrap();
    assert_eq!(urgent["status"], "pending");
    assert_eq!(urgent["heldForQuietHours"], false);
    let members = app.grace.member_ids.len();
    let sent = app.telnyx.wait_for_requests(members).await;
    assert!(
        sent.iter()
            .all(|r| r.body["text"] == "The service is cancelled: snow")
    );
    let message = app
        .get_json(&format!("/api/messages/{}", held["id"]), &staff)
        .await;
    assert_eq!(message["status"], "scheduled");
    assert_eq!(message["heldForQuietHours"], true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.telnyx.requests().len(),
        members,
        "only the urgent one went"
    );

    // Quiet hours turned off: what they held goes when it would have gone, never earlier.
    quiet_off(&app, &admin).await;
    let sent = app.telnyx.wait_for_requests(2 * members).await;
    assert_eq!(
        sent.iter()
            .filter(|r| r.body["text"] == "Late news")
            .count(),
        members
    );
    let waiting = app
        .get_json(&format!("/api/messages/{}", later["id"]), &staff)
        .await;
    assert_eq!(waiting["status"], "scheduled");
    assert_eq!(waiting["heldForQuietHours"], false);
    let at: DateTime<Utc> = waiting["sendAt"].as_str().unwrap().parse().unwrap();
    let ahead = at - Utc::now();
    assert!(
        ahead > TimeDelta::minutes(4) && ahead <= TimeDelta::minutes(5),
        "the time it was asked for: {ahead}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.telnyx.requests().len(), 2 * members);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_still_going_when_quiet_hours_begin_waits_and_resumes_when_they_end() {
    let mut app =
        spawn_app_with(&[("BELFRY_SEND_RATE", "5"), ("BELFRY_SENDER_WORKERS", "2")]).await;
    app.add_members(16).await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let recipients = app.grace.member_ids.len();
    let id = app.send(&staff, &app.grace.member_ids.clone()).await;
    app.telnyx.wait_for_requests(4).await;

    quiet_now(&app, &admin).await;
    let at_quiet = app.telnyx.requests().len();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let during = app.telnyx.requests().len();
    // A call that had already started may finish; nothing new starts.
    assert!(during <= at_quiet + 2, "{at_quiet} then {during}");
    assert!(during < recipients, "the broadcast waited");

    // Quiet hours end (turned off here, as their end would): the rest go, each once.
    quiet_off(&app, &admin).await;
    let sent = app.telnyx.wait_for_requests(recipients).await;
    let phones: HashSet<_> = sent.iter().map(|r| r.body["to"].to_string()).collect();
    assert_eq!(phones.len(), recipients, "every recipient, none twice");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.telnyx.requests().len(), recipients);
    app.wait_for_message(&staff, id, |m| {
        m["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "queued" && r["attempts"] == 1)
    })
    .await;
}

/// Quiet hours that begin and end by the clock, not by an admin's change: the stretch is put
/// straight into the store (three seconds long, from now), as if its start had come, and every
/// node's watch must hold the church within a second, then release it and move on to the next
/// stretch when it ends.
#[tokio::test(flavor = "multi_thread")]
async fn a_stretch_that_begins_and_ends_by_the_clock_holds_and_releases_a_broadcast() {
    use diesel_async::RunQueryDsl;
    let mut app =
        spawn_app_with(&[("BELFRY_SEND_RATE", "5"), ("BELFRY_SENDER_WORKERS", "2")]).await;
    app.add_members(12).await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    // On, but hours from now, so nothing is quiet yet.
    let later = |hours| {
        (Utc::now() + TimeDelta::hours(hours))
            .format("%H:%M")
            .to_string()
    };
    let on = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"timezone": "UTC", "quietHours": {"enabled": true,
                    "start": later(2), "end": later(3)}}),
        )
        .await;
    let on: Value = on.json().await.unwrap();
    assert_eq!(on["quietWindow"]["now"], false);
    let recipients = app.grace.member_ids.len();
    app.send(&staff, &app.grace.member_ids.clone()).await;
    app.telnyx.wait_for_requests(3).await;

    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE churches SET quiet_from = now(), quiet_until = now() + interval '3 seconds' \
         WHERE id = {}",
        app.grace.id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let sent = app.telnyx.wait_for_requests(recipients).await;
    // The longest pause between two sends is the stretch, less the second the watch may take
    // to see it begin (and the call that had already started).
    let longest = sent
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .max()
        .unwrap();
    assert!(
        longest >= Duration::from_millis(1700),
        "no pause for the stretch: {longest:?}"
    );
    let phones: HashSet<_> = sent.iter().map(|r| r.body["to"].to_string()).collect();
    assert_eq!(phones.len(), recipients, "every recipient, none twice");
    // The watch moved the church on to its next stretch, which is hours away.
    let settings = app.get_json("/api/admin/church", &admin).await;
    assert_eq!(settings["quietWindow"]["now"], false);
    let next: DateTime<Utc> = settings["quietWindow"]["from"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next > Utc::now() + TimeDelta::minutes(59), "{next}");
}

fn instant(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .unwrap_or_else(|_| panic!("an RFC 3339 instant: {raw}"))
        .with_timezone(&Utc)
}

async fn quiet_window(app: &TestApp, admin: &str) -> (DateTime<Utc>, DateTime<Utc>, bool) {
    let settings = app.get_json("/api/admin/church", admin).await;
    let window = &settings["quietWindow"];
    (
        instant(window["from"].as_str().unwrap()),
        instant(window["until"].as_str().unwrap()),
        window["now"].as_bool().unwrap(),
    )
}

/// Sends to one member as staff; the receipt.
async fn send_one(app: &TestApp, staff: &str, member: i64) -> Value {
    let response = app
        .post_json(
            "/api/messages",
            Some(staff),
            &json!({"body": "Early service", "memberIds": [member]}),
        )
        .await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_hours_keep_to_chicagos_wall_clock_across_both_changes_of_2026() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (first, second) = (app.grace.member_ids[0], app.grace.member_ids[1]);
    let second_phone = app.phone_of(&staff, second).await;

    // Chicago springs forward at 2026-03-08 02:00 CST (08:00Z) to 03:00 CDT, so 02:30 does
    // not exist that night. The server's clock reads 01:59:57 CST.
    app.clock.set(instant("2026-03-08T07:59:57Z"));
    let response = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"timezone": "America/Chicago",
                    "quietHours": {"enabled": true, "start": "02:30", "end": "08:00"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    // They begin at the first minute that exists, 03:00 CDT, and end at 08:00 CDT (13:00Z,
    // not the 14:00Z that 08:00 CST would be).
    assert_eq!(
        quiet_window(&app, &admin).await,
        (
            instant("2026-03-08T08:00:00Z"),
            instant("2026-03-08T13:00:00Z"),
            false
        )
    );
    let before = send_one(&app, &staff, first).await;
    assert_eq!(before["heldForQuietHours"], false);
    app.telnyx.wait_for_requests(1).await;

    // A second after the clocks went forward: quiet.
    app.clock.set(instant("2026-03-08T08:00:01Z"));
    assert!(quiet_window(&app, &admin).await.2);
    let held = send_one(&app, &staff, second).await;
    assert_eq!(held["status"], "scheduled");
    assert_eq!(held["heldForQuietHours"], true);
    assert_eq!(
        instant(held["sendAt"].as_str().unwrap()),
        instant("2026-03-08T13:00:00Z")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.telnyx.requests().len(),
        1,
        "nothing goes in quiet hours"
    );

    // 08:00 CDT: the held text goes, and the next night's stretch is worked out by the clock.
    app.clock.set(instant("2026-03-08T13:00:01Z"));
    // Within a tick of the sending watch (a second), however loaded the machine.
    for _ in 0..300 {
        if app.telnyx.requests().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = app.telnyx.requests();
    assert_eq!(sent.len(), 2, "the held text went when quiet hours ended");
    assert_eq!(sent[1].body["to"], second_phone.as_str());
    let mut window = quiet_window(&app, &admin).await;
    for _ in 0..60 {
        if window.0 > instant("2026-03-08T13:00:00Z") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        window = quiet_window(&app, &admin).await;
    }
    assert_eq!(
        window,
        (
            instant("2026-03-09T07:30:00Z"),
            instant("2026-03-09T13:00:00Z"),
            false
        ),
        "02:30 to 08:00 CDT on the 9th"
    );

    // Chicago falls back at 2026-11-01 02:00 CDT (07:00Z) to 01:00 CST, so 01:30 happens
    // twice: quiet hours ending at 01:30 end at the second, 07:30Z.
    app.clock.set(instant("2026-11-01T05:00:00Z"));
    let response = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"quietHours": {"start": "23:00", "end": "01:30"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        quiet_window(&app, &admin).await,
        (
            instant("2026-11-01T04:00:00Z"),
            instant("2026-11-01T07:30:00Z"),
            true
        )
    );
    let held = send_one(&app, &staff, first).await;
    assert_eq!(
        instant(held["sendAt"].as_str().unwrap()),
        instant("2026-11-01T07:30:00Z")
    );
}
