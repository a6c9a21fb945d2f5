//! Notification preferences over real HTTP and sockets: the defaults in the church's zone, a
//! partial change, each wrong field named with nothing stored, the app turned off for a
//! category (kept in the inbox, not pushed) but never for critical, and quiet hours in the
//! user's own zone across the change of clocks, read from the server's clock.

use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{TestApp, WsClient, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

async fn patch(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let response = app
        .patch_json("/api/notifications/preferences", token, &body)
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn announce(app: &TestApp, admin: &str, title: &str, priority: &str) {
    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(admin),
            &json!({"audience": {"role": "staff"}, "title": title, "body": "Details",
                "priority": priority}),
        )
        .await;
    assert_eq!(sent.status(), 202);
}

/// The next notification frame (`notification:new` or `notification:counts`).
async fn next_notification(socket: &mut WsClient) -> Value {
    socket
        .until(WAIT, |f| {
            f["type"] == "notification:new" || f["type"] == "notification:counts"
        })
        .await
        .pop()
        .unwrap()
}

/// The next `notification:new`.
async fn next_new(socket: &mut WsClient) -> Value {
    socket
        .until(WAIT, |f| f["type"] == "notification:new")
        .await
        .pop()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn preferences_default_to_the_church_and_change_one_field_at_a_time() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let zone = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"timezone": "America/Chicago"}),
        )
        .await;
    assert_eq!(zone.status(), 200);

    let defaults = app.get_json("/api/notifications/preferences", &staff).await;
    assert_eq!(defaults["timezone"], "America/Chicago");
    assert_eq!(
        defaults["channels"],
        json!({"in_app": true, "email": true, "sms": false})
    );
    assert_eq!(
        defaults["categories"]["delivery"],
        json!({"in_app": true, "email": false, "sms": false})
    );
    assert_eq!(defaults["quietHours"]["enabled"], false);
    assert_eq!(defaults["quietHours"]["days"].as_array().unwrap().len(), 7);
    assert_eq!(
        defaults["digest"],
        json!({"frequency": "off", "at": "08:00"})
    );
    let operator = app.operator().await;
    let theirs = app
        .get_json("/api/notifications/preferences", &operator)
        .await;
    assert_eq!(theirs["timezone"], "UTC");

    let (status, changed) = patch(
        &app,
        &staff,
        json!({"timezone": "Europe/London",
            "categories": {"announcement": {"email": false}},
            "quietHours": {"enabled": true, "start": "21:30", "days": ["sat", "sun"]},
            "digest": {"frequency": "daily"}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["timezone"], "Europe/London");
    assert_eq!(changed["categories"]["announcement"]["email"], false);
    assert_eq!(changed["categories"]["announcement"]["in_app"], true);
    assert_eq!(changed["quietHours"]["start"], "21:30");
    assert_eq!(changed["quietHours"]["end"], "07:00");
    assert_eq!(changed["quietHours"]["days"], json!(["sat", "sun"]));
    assert_eq!(
        changed["digest"],
        json!({"frequency": "daily", "at": "08:00"})
    );
    let read = app.get_json("/api/notifications/preferences", &staff).await;
    assert_eq!(read, changed);

    for (body, field) in [
        (
            json!({"categories": {"weather": {"email": true}}}),
            "categories.weather",
        ),
        (json!({"channels": {"pigeon": true}}), "channels.pigeon"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"quietHours": {"end": "7am"}}), "quietHours.end"),
        (json!({"quietHours": {"days": []}}), "quietHours.days"),
        (json!({"digest": {"at": "24:00"}}), "digest.at"),
        (json!({"timezone": "UTC", "volume": 11}), "volume"),
    ] {
        let (status, error) = patch(&app, &staff, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"]["code"], "invalid_preferences");
        assert_eq!(error["error"]["details"]["field"], field, "{body}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field)
        );
    }
    let unchanged = app.get_json("/api/notifications/preferences", &staff).await;
    assert_eq!(unchanged, changed, "nothing wrong was stored");
    // Another user's preferences are their own.
    let admins = app.get_json("/api/notifications/preferences", &admin).await;
    assert_eq!(admins["timezone"], "America/Chicago");

    // The user's own SMS number.
    let me = app
        .patch_json("/api/me", &staff, &json!({"phone": "+12025550199"}))
        .await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["phone"], "+12025550199");
    assert_eq!(me["name"], "Test User");
    let bad = app
        .patch_json("/api/me", &staff, &json!({"phone": "555-0199"}))
        .await;
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "invalid_phone");
    let cleared = app
        .patch_json(
            "/api/me",
            &staff,
            &json!({"phone": null, "name": "Sam Staff"}),
        )
        .await;
    let cleared: Value = cleared.json().await.unwrap();
    assert!(cleared["phone"].is_null());
    assert_eq!(cleared["name"], "Sam Staff");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_turned_off_keeps_it_in_the_inbox_unpushed_but_critical_always_comes() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let (status, _) = patch(
        &app,
        &staff,
        json!({"categories": {"announcement": {"in_app": false}}}),
    )
    .await;
    assert_eq!(status, 200);
    let mut socket = app.connect(&staff).await;

    announce(&app, &admin, "Parking lot closed", "normal").await;
    let frame = next_notification(&mut socket).await;
    assert_eq!(frame["type"], "notification:counts", "not pushed: {frame}");
    assert_eq!(frame["unread"], 1);
    announce(&app, &admin, "Building evacuated", "critical").await;
    let frame = next_notification(&mut socket).await;
    assert_eq!(frame["type"], "notification:new");
    assert_eq!(frame["notification"]["title"], "Building evacuated");
    assert_eq!(frame["quiet"], false);

    let inbox = app.get_json("/api/notifications", &staff).await;
    let titles: Vec<&str> = inbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Building evacuated", "Parking lot closed"]);
    // The admin's own copy of the first came live: their preferences are theirs.
    let admin_inbox = app.get_json("/api/notifications/counts", &admin).await;
    assert_eq!(admin_inbox["unread"], 0, "sent to staff only");
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_hours_are_the_users_own_zone_across_the_change_of_clocks() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    // The church keeps Chicago's time; this user is in London, quiet 22:00–07:00.
    let zone = app
        .patch_json(
            "/api/admin/church",
            &admin,
            &json!({"timezone": "America/Chicago"}),
        )
        .await;
    assert_eq!(zone.status(), 200);
    let (status, _) = patch(
        &app,
        &staff,
        json!({"timezone": "Europe/London", "quietHours": {"enabled": true}}),
    )
    .await;
    assert_eq!(status, 200);
    let mut socket = app.connect(&staff).await;

    // 2026-03-29: London's clocks go forward at 01:00 GMT. 05:30Z is 06:30 BST: still quiet.
    app.clock.set("2026-03-29T05:30:00Z".parse().unwrap());
    announce(&app, &admin, "Early news", "normal").await;
    let new = next_notification(&mut socket).await;
    assert_eq!(new["type"], "notification:new");
    assert_eq!(new["quiet"], true, "06:30 BST is inside 22:00–07:00");
    // Critical is never quiet.
    announce(&app, &admin, "Flood in the hall", "critical").await;
    let new = next_new(&mut socket).await;
    assert_eq!(new["quiet"], false);
    // 06:00Z is 07:00 BST (it would still be 06:00 in GMT): quiet hours are over.
    app.clock.set("2026-03-29T06:00:00Z".parse().unwrap());
    announce(&app, &admin, "Morning news", "normal").await;
    let new = next_new(&mut socket).await;
    assert_eq!(new["notification"]["title"], "Morning news");
    assert_eq!(new["quiet"], false);
    // That evening, 21:59 BST (20:59Z) is not yet quiet; 22:00 BST (21:00Z) is.
    app.clock.set("2026-03-29T20:59:00Z".parse().unwrap());
    announce(&app, &admin, "Evening news", "normal").await;
    let new = next_new(&mut socket).await;
    assert_eq!(new["quiet"], false);
    app.clock.set("2026-03-29T21:00:00Z".parse().unwrap());
    announce(&app, &admin, "Night news", "normal").await;
    let new = next_new(&mut socket).await;
    assert_eq!(new["notification"]["title"], "Night news");
    assert_eq!(new["quiet"], true);
}
