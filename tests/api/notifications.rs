//! Notifications over real HTTP and sockets: a finished broadcast tells its sender once, the
//! inbox lists, filters, searches and pages, marks and counts follow every tab of the user,
//! admins' and operators' sends reach only whom they may, and system events notify by
//! themselves.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::FakeTelnyx;
use super::helpers::{PASSWORD, TestApp, WsClient, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

async fn announce(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json("/api/admin/notifications", Some(token), &body)
        .await
}

async fn next_of(socket: &mut WsClient, kind: &str) -> Value {
    socket
        .until(WAIT, |f| f["type"] == kind)
        .await
        .pop()
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_broadcast_tells_its_sender_once_and_nobody_else() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut socket = app.connect(&staff).await;
    let mut admin_socket = app.connect(&admin).await;

    let id = app.send(&staff, &app.grace.member_ids).await;
    let accepted = app.accepted(&staff, id, 3).await;
    let unreachable = json!([{"code": "30003", "title": "Unreachable destination handset"}]);
    for (i, (phone, pid)) in accepted.iter().enumerate() {
        let (status, errors) = match i {
            0 => ("delivery_failed", unreachable.clone()),
            _ => ("delivered", json!([])),
        };
        let event = FakeTelnyx::event(
            &format!("fin-{i}"),
            "message.finalized",
            pid,
            phone,
            status,
            errors,
        );
        assert_eq!(
            app.telnyx.post_webhook(&app.url, &event).await.status(),
            200
        );
    }

    let new = next_of(&mut socket, "notification:new").await;
    assert_eq!(new["room"], format!("user:{}", app.user_id(&staff)));
    let n = &new["notification"];
    assert_eq!(n["category"], "delivery");
    assert_eq!(n["priority"], "normal");
    assert_eq!(
        n["title"],
        "Your message finished: 2 of 3 delivered, 1 failed"
    );
    assert_eq!(n["body"], "“Service at 10am” 2 of 3 delivered, 1 failed.");
    assert_eq!(n["data"]["messageId"], id);
    assert_eq!(n["data"]["failed"], 1);
    assert!(n["readAt"].is_null() && n["seenAt"].is_null());
    let counts = next_of(&mut socket, "notification:counts").await;
    assert_eq!(
        (counts["unread"].as_i64(), counts["unseen"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(counts["byCategory"]["delivery"], 1);

    let inbox = app.get_json("/api/notifications", &staff).await;
    assert_eq!(inbox["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["notifications"][0]["id"], n["id"]);
    // A summary made again (as after a retried dead letter) does not tell the sender twice.
    use diesel_async::RunQueryDsl;
    let mut db = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE messages SET sent_count = NULL WHERE id = {id}"
    ))
    .execute(&mut db)
    .await
    .unwrap();
    let again = belfry::db::delivery_summaries::summarize(
        &app.state.pool,
        belfry::db::delivery_summaries::Pick::Finished,
        belfry::notices::broadcast_finished,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(again.messages, 1, "the message was summarized again");
    assert!(again.notices.is_empty(), "{:?}", again.notices);
    let counts = app.get_json("/api/notifications/counts", &staff).await;
    assert_eq!(counts["unread"], 1);

    // Nobody else was told: not the church's admin, not another church.
    let admin_counts = app.get_json("/api/notifications/counts", &admin).await;
    assert_eq!(admin_counts["unread"], 0);
    let other = app.login(&app.other.staff_email).await;
    let theirs = app.get_json("/api/notifications", &other).await;
    assert_eq!(theirs["notifications"], json!([]));
    let read = app
        .post_json(
            &format!("/api/notifications/{}/read", n["id"]),
            Some(&other),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 404);
    let heard = drain(&mut admin_socket).await;
    assert!(!heard.iter().any(is_notification), "{heard:?}");
}

fn is_notification(frame: &Value) -> bool {
    frame["type"]
        .as_str()
        .unwrap_or("")
        .starts_with("notification")
}

/// Every frame that arrives within half a second.
async fn drain(socket: &mut WsClient) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(frame) = socket.next_json(Duration::from_millis(500)).await {
        frames.push(frame);
    }
    frames
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_lists_searches_pages_and_marks_and_every_tab_follows() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut tab_a = app.connect(&staff).await;
    let mut tab_b = app.connect(&staff).await;
    let mut ids = Vec::new();
    for (title, body) in [
        ("Choir practice moved", "Thursday at 7pm in the hall"),
        (
            "Potluck on Sunday",
            "Bring a dish to share after the service",
        ),
        ("Roof repair fund", "We reached 80% of the goal"),
    ] {
        let sent = announce(
            &app,
            &admin,
            json!({"audience": {"church": true}, "title": title, "body": body}),
        )
        .await;
        assert_eq!(sent.status(), 202);
        let receipt: Value = sent.json().await.unwrap();
        assert_eq!(receipt["recipientCount"], 2, "the church's admin and staff");
        let new = next_of(&mut tab_b, "notification:new").await;
        assert_eq!(new["notification"]["title"], title);
        assert_eq!(new["notification"]["category"], "announcement");
        ids.push(new["notification"]["id"].as_i64().unwrap());
    }
    let counts = app.get_json("/api/notifications/counts", &staff).await;
    assert_eq!(
        (counts["unread"].as_i64(), counts["unseen"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(counts["byCategory"]["announcement"], 3);

    // Newest first, searched, filtered, paged.
    let titles = |page: &Value| -> Vec<String> {
        page["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get_json("/api/notifications", &staff).await;
    assert_eq!(
        titles(&all),
        [
            "Roof repair fund",
            "Potluck on Sunday",
            "Choir practice moved"
        ]
    );
    assert!(all["nextCursor"].is_null());
    let found = app
        .get_json("/api/notifications?q=dish%20service", &staff)
        .await;
    assert_eq!(titles(&found), ["Potluck on Sunday"]);
    let none = app
        .get_json("/api/notifications?q=-hall%20thursday", &staff)
        .await;
    assert_eq!(titles(&none), Vec::<String>::new());
    let system = app
        .get_json("/api/notifications?category=system", &staff)
        .await;
    assert_eq!(titles(&system), Vec::<String>::new());
    let first = app.get_json("/api/notifications?limit=2", &staff).await;
    assert_eq!(titles(&first), ["Roof repair fund", "Potluck on Sunday"]);
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = app
        .get_json(
            &format!("/api/notifications?limit=2&before={cursor}"),
            &staff,
        )
        .await;
    assert_eq!(titles(&rest), ["Choir practice moved"]);
    assert!(rest["nextCursor"].is_null());

    // Read in tab A: tab B hears it, with the counts after.
    let read = app
        .post_json(
            &format!("/api/notifications/{}/read", ids[0]),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    let marked: Value = read.json().await.unwrap();
    assert!(marked["notification"]["readAt"].is_string());
    assert!(marked["notification"]["seenAt"].is_string());
    assert_eq!(marked["counts"]["unread"], 2);
    let updated = next_of(&mut tab_b, "notification:updated").await;
    assert_eq!(updated["change"], "read");
    assert_eq!(updated["ids"], json!([ids[0]]));
    let counts = next_of(&mut tab_b, "notification:counts").await;
    assert_eq!(counts["unread"], 2);
    let unread = app
        .get_json("/api/notifications?status=unread", &staff)
        .await;
    assert_eq!(titles(&unread), ["Roof repair fund", "Potluck on Sunday"]);
    let read_only = app.get_json("/api/notifications?status=read", &staff).await;
    assert_eq!(titles(&read_only), ["Choir practice moved"]);

    // Unread again, then archive another.
    let again = app
        .post_json(
            &format!("/api/notifications/{}/unread", ids[0]),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        next_of(&mut tab_b, "notification:updated").await["change"],
        "unread"
    );
    assert_eq!(
        next_of(&mut tab_b, "notification:counts").await["unread"],
        3
    );
    let archived = app
        .post_json(
            &format!("/api/notifications/{}/archive", ids[1]),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(archived.status(), 200);
    let listed = app.get_json("/api/notifications", &staff).await;
    assert_eq!(
        titles(&listed),
        ["Roof repair fund", "Choir practice moved"]
    );
    let archive = app
        .get_json("/api/notifications?status=archived", &staff)
        .await;
    assert_eq!(titles(&archive), ["Potluck on Sunday"]);
    assert_eq!(
        next_of(&mut tab_b, "notification:updated").await["change"],
        "archived"
    );
    assert_eq!(
        next_of(&mut tab_b, "notification:counts").await["unread"],
        2
    );

    // The badge was looked at: nothing is unseen, both still unread.
    let seen = app
        .post_json("/api/notifications/seen", Some(&staff), &json!({}))
        .await;
    let seen: Value = seen.json().await.unwrap();
    assert_eq!(seen["upTo"], ids[2]);
    assert_eq!(
        (
            seen["counts"]["unread"].as_i64(),
            seen["counts"]["unseen"].as_i64()
        ),
        (Some(2), Some(0))
    );
    // Tab A, which has heard every change so far, hears this one last.
    let updated = tab_a
        .until(WAIT, |f| {
            f["type"] == "notification:updated" && f["change"] == "seen"
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(updated["upTo"], ids[2]);

    // Read all of one category, then of all: nothing left.
    let none_left = app
        .post_json(
            "/api/notifications/read-all",
            Some(&staff),
            &json!({"category": "system"}),
        )
        .await;
    let none_left: Value = none_left.json().await.unwrap();
    assert!(none_left["upTo"].is_null());
    assert_eq!(none_left["counts"]["unread"], 2);
    let all_read = app
        .post_json("/api/notifications/read-all", Some(&staff), &json!({}))
        .await;
    let all_read: Value = all_read.json().await.unwrap();
    assert_eq!(all_read["counts"]["unread"], 0);
    assert_eq!(all_read["counts"]["byCategory"]["announcement"], 0);
    let updated = tab_b
        .until(WAIT, |f| {
            f["type"] == "notification:updated" && f["upTo"].is_i64()
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(
        updated["change"], "seen",
        "tab B hears the changes in order"
    );
    let updated = next_of(&mut tab_b, "notification:updated").await;
    assert_eq!(
        (updated["change"].as_str(), updated["upTo"].as_i64()),
        (Some("read"), Some(ids[2]))
    );
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        0
    );
    // The admin's own copies were never touched.
    assert_eq!(
        app.get_json("/api/notifications/counts", &admin).await["unread"],
        3
    );

    // Bad questions are refused and name what is wrong.
    for (query, code) in [
        ("status=bogus", "invalid_status"),
        ("category=nope", "invalid_category"),
        ("before=abc", "invalid_cursor"),
        ("before=-5", "invalid_cursor"),
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
    ] {
        let response = app
            .get(&format!("/api/notifications?{query}"), &staff)
            .await;
        assert_eq!(
            error_code(response).await,
            (400, code.to_owned()),
            "{query}"
        );
    }
    let long = "x".repeat(201);
    let response = app
        .get(&format!("/api/notifications?q={long}"), &staff)
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "invalid_search".to_owned())
    );
    let bad = app
        .post_json(
            "/api/notifications/read-all",
            Some(&staff),
            &json!({"category": "nope"}),
        )
        .await;
    assert_eq!(error_code(bad).await, (400, "invalid_category".to_owned()));
    let missing = app
        .post_json(
            "/api/notifications/999999/archive",
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_reach_only_whom_the_sender_may_reach() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let other_staff = app.login(&app.other.staff_email).await;
    let operator = app.operator().await;
    let base = |audience: Value| json!({"audience": audience, "title": "Hello", "body": "Hi"});

    let refused = announce(&app, &staff, base(json!({"church": true}))).await;
    assert_eq!(refused.status(), 403);
    let refused = announce(&app, &admin, base(json!({"churchIds": [app.other.id]}))).await;
    assert_eq!(refused.status(), 403);
    let other_user = app.user_id(&other_staff);
    let refused = announce(&app, &admin, base(json!({"userIds": [other_user]}))).await;
    assert_eq!(error_code(refused).await, (422, "unknown_users".to_owned()));
    for audience in [
        json!({}),
        json!({"church": true, "role": "staff"}),
        json!({"role": "operator"}),
        json!({"church": false}),
        json!({"userIds": []}),
    ] {
        let refused = announce(&app, &admin, base(audience.clone())).await;
        assert_eq!(
            error_code(refused).await,
            (400, "invalid_audience".to_owned()),
            "{audience}"
        );
    }
    for (body, code) in [
        (
            json!({"audience": {"church": true}, "title": " ", "body": "Hi"}),
            "invalid_title",
        ),
        (
            json!({"audience": {"church": true}, "title": "a\u{7}", "body": "Hi"}),
            "invalid_title",
        ),
        (
            json!({"audience": {"church": true}, "title": "Hi", "body": ""}),
            "invalid_body",
        ),
        (
            json!({"audience": {"church": true}, "title": "Hi", "body": "Hi", "category": "delivery"}),
            "invalid_category",
        ),
        (
            json!({"audience": {"church": true}, "title": "Hi", "body": "Hi", "priority": "urgent"}),
            "invalid_priority",
        ),
    ] {
        let refused = announce(&app, &admin, body.clone()).await;
        assert_eq!(error_code(refused).await, (400, code.to_owned()), "{body}");
    }
    // Nothing refused was stored.
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        0
    );

    // An admin's send to one role of their church.
    let to_admins = announce(&app, &admin, base(json!({"role": "admin"}))).await;
    let receipt: Value = to_admins.json().await.unwrap();
    assert_eq!(receipt["recipientCount"], 1);
    assert_eq!(
        app.get_json("/api/notifications/counts", &admin).await["unread"],
        1
    );
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        0
    );

    // An operator's send to another church, critical, once whatever the retries.
    let mut other_socket = app.connect(&other_staff).await;
    let body = json!({"audience": {"churchIds": [app.other.id]}, "category": "system",
        "priority": "critical", "title": "Maintenance tonight", "body": "From 23:00 UTC"});
    let send = || {
        app.http
            .post(format!("{}/api/admin/notifications", app.url))
            .bearer_auth(&operator)
            .header("Idempotency-Key", "maint-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["recipientCount"], 2);
    let again = send().await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let changed = app
        .http
        .post(format!("{}/api/admin/notifications", app.url))
        .bearer_auth(&operator)
        .header("Idempotency-Key", "maint-1")
        .json(&json!({"audience": {"churchIds": [app.other.id]}, "title": "Other", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(changed).await,
        (422, "idempotency_key_reused".to_owned())
    );
    let new = next_of(&mut other_socket, "notification:new").await;
    assert_eq!(new["notification"]["priority"], "critical");
    assert_eq!(new["notification"]["category"], "system");
    let theirs = app.get_json("/api/notifications", &other_staff).await;
    assert_eq!(
        theirs["notifications"].as_array().unwrap().len(),
        1,
        "sent once"
    );
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        0
    );
    // The send's detail: each recipient, their marks, each channel's delivery.
    let read = app
        .post_json(
            &format!("/api/notifications/{}/read", new["notification"]["id"]),
            Some(&other_staff),
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), 200);
    let detail = app
        .get_json(
            &format!("/api/admin/notifications/{}", first["id"]),
            &operator,
        )
        .await;
    assert_eq!(detail["title"], "Maintenance tonight");
    assert_eq!(detail["recipientCount"], 2);
    let recipients = detail["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 2);
    let staff_row = recipients
        .iter()
        .find(|r| r["userId"] == other_user)
        .unwrap();
    assert!(staff_row["readAt"].is_string());
    assert_eq!(staff_row["deliveries"][0]["channel"], "in_app");
    assert_eq!(staff_row["deliveries"][0]["status"], "read");
    let other_row = recipients
        .iter()
        .find(|r| r["userId"] != other_user)
        .unwrap();
    assert_eq!(other_row["deliveries"][0]["status"], "delivered");
    let page = app
        .get_json(
            &format!("/api/admin/notifications/{}?limit=1", first["id"]),
            &operator,
        )
        .await;
    assert_eq!(page["recipients"].as_array().unwrap().len(), 1);
    let after = page["nextAfter"].as_i64().unwrap();
    let rest = app
        .get_json(
            &format!(
                "/api/admin/notifications/{}?limit=1&after={after}",
                first["id"]
            ),
            &operator,
        )
        .await;
    assert_eq!(rest["recipients"].as_array().unwrap().len(), 1);
    assert!(rest["nextAfter"].is_null());
    // Not a church admin's to see, nor staff's.
    let theirs = app
        .get(&format!("/api/admin/notifications/{}", first["id"]), &admin)
        .await;
    assert_eq!(theirs.status(), 404);
    let staffs = app
        .get(
            &format!("/api/admin/notifications/{}", receipt["id"]),
            &staff,
        )
        .await;
    assert_eq!(staffs.status(), 403);
    let own = app
        .get_json(
            &format!("/api/admin/notifications/{}", receipt["id"]),
            &admin,
        )
        .await;
    assert_eq!(own["recipients"].as_array().unwrap().len(), 1);
    let refused = announce(&app, &operator, base(json!({"churchIds": [999999]}))).await;
    assert_eq!(
        error_code(refused).await,
        (422, "unknown_churches".to_owned())
    );
    let refused = announce(&app, &operator, base(json!({"church": true}))).await;
    assert_eq!(error_code(refused).await, (422, "no_church".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn system_events_notify_by_themselves() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let other_admin = app.login(&app.other.admin_email).await;
    let operator = app.operator().await;
    let mut operator_socket = app.connect(&operator).await;

    // The breaker forced open and closed again: operators hear both.
    for state in ["forced_open", "closed"] {
        let set = app
            .post_json(
                "/api/admin/breaker",
                Some(&operator),
                &json!({"state": state}),
            )
            .await;
        assert_eq!(set.status(), 200);
    }
    let opened = next_of(&mut operator_socket, "notification:new").await;
    assert_eq!(opened["notification"]["category"], "system");
    assert_eq!(opened["notification"]["priority"], "high");
    assert_eq!(
        opened["notification"]["title"],
        "Sending stopped: the carrier breaker is open"
    );
    assert_eq!(opened["notification"]["data"]["to"], "forced_open");
    let closed = next_of(&mut operator_socket, "notification:new").await;
    assert_eq!(
        closed["notification"]["title"],
        "Sending works again: the carrier breaker closed"
    );
    assert_eq!(
        app.get_json("/api/notifications/counts", &admin).await["unread"],
        0
    );

    // A church's sending paused: its admins hear it, nobody else.
    let paused = app
        .post_json(
            "/api/admin/sending",
            Some(&admin),
            &json!({"paused": true, "reason": "Audit"}),
        )
        .await;
    assert_eq!(paused.status(), 200);
    let inbox = wait_for_inbox(&app, &admin, 1).await;
    assert_eq!(inbox[0]["title"], "Sending is paused");
    assert!(
        inbox[0]["body"].as_str().unwrap().contains(": Audit."),
        "{}",
        inbox[0]
    );
    assert_eq!(inbox[0]["data"]["paused"], true);
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        0
    );
    assert_eq!(
        app.get_json("/api/notifications/counts", &other_admin)
            .await["unread"],
        0
    );

    // A password change tells its owner.
    let changed = app
        .post_json(
            "/api/auth/password",
            Some(&staff),
            &json!({"currentPassword": PASSWORD, "newPassword": "a much longer new password"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let fresh: Value = changed.json().await.unwrap();
    let fresh = fresh["token"].as_str().unwrap();
    let inbox = wait_for_inbox(&app, fresh, 1).await;
    assert_eq!(inbox[0]["category"], "security");
    assert_eq!(inbox[0]["title"], "Your password was changed");
}

/// The user's inbox once it holds `n` notifications.
async fn wait_for_inbox(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    for _ in 0..250 {
        let inbox = app.get_json("/api/notifications", token).await;
        let list = inbox["notifications"].as_array().unwrap().clone();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the inbox never held {n} notifications");
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_have_their_own_limit_with_its_headers() {
    let app = super::helpers::spawn_app_with(&[("BELFRY_LIMIT_NOTIFY", "2/3600")]).await;
    let admin = app.login(&app.grace.admin_email).await;
    let body = json!({"audience": {"church": true}, "title": "Hello", "body": "Hi"});
    for left in ["1", "0"] {
        let sent = announce(&app, &admin, body.clone()).await;
        assert_eq!(sent.status(), 202);
        let limits: Vec<&str> = sent
            .headers()
            .get_all("ratelimit")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            limits
                .iter()
                .any(|l| l.starts_with("\"notify\"") && l.contains(&format!("r={left}"))),
            "{limits:?}"
        );
    }
    let refused = announce(&app, &admin, body).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let (_, code) = error_code(refused).await;
    assert_eq!(code, "rate_limited");
    // Nothing of the refused send was stored.
    let staff = app.login(&app.grace.staff_email).await;
    assert_eq!(
        app.get_json("/api/notifications/counts", &staff).await["unread"],
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_from_a_new_address_tells_the_account_once() {
    // The clients' address is read from X-Forwarded-For, as behind a proxy.
    let app = super::helpers::spawn_app_with(&[("BELFRY_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let login_from = |address: &'static str| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(format!("{}/api/auth/login", app.url))
                .header("x-forwarded-for", address)
                .json(&json!({"email": app.grace.staff_email, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    // The first sign-in ever, and another from the same place, are not news.
    login_from("198.51.100.4").await;
    let token = login_from("198.51.100.4").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = app.get_json("/api/notifications/counts", &token).await;
    assert_eq!(counts["byCategory"]["security"], 0);

    login_from("203.0.113.9").await;
    let inbox = wait_for_inbox(&app, &token, 1).await;
    assert_eq!(inbox[0]["category"], "security");
    assert_eq!(inbox[0]["priority"], "high");
    assert_eq!(inbox[0]["title"], "New sign-in to your account");
    assert_eq!(inbox[0]["data"]["address"], "203.0.113.9");
    assert!(inbox[0]["body"].as_str().unwrap().contains("203.0.113.9"));

    // Once known, the address is not news again; nobody else hears of it.
    login_from("203.0.113.9").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = app.get_json("/api/notifications/counts", &token).await;
    assert_eq!(counts["byCategory"]["security"], 1);
    let admin = app.login(&app.grace.admin_email).await;
    assert_eq!(
        app.get_json("/api/notifications/counts", &admin).await["unread"],
        0
    );
}
