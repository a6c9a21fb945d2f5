//! Chat over real sockets and HTTP: messages with acks and history, channels with members,
//! typing, presence with several tabs, and read receipts.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{WsClient, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(5);

async fn next_of(socket: &mut WsClient, kind: &str) -> Value {
    socket
        .until(WAIT, |f| f["type"] == kind)
        .await
        .pop()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_stored_broadcast_acknowledged_and_paged() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let room = format!("church:{}", app.grace.id);
    let mut sender = app.connect(&staff).await;
    let mut reader = app.connect(&admin).await;

    let body = "<b>Choir</b> at 7 — bring music";
    sender
        .send_json(json!({"type": "chat:send", "room": room, "body": body, "clientId": "c-1"}))
        .await;
    let ack = next_of(&mut sender, "chat:ack").await;
    assert_eq!(ack["clientId"], "c-1");
    assert_eq!(ack["duplicate"], false);
    let id = ack["id"].as_i64().unwrap();
    let message = next_of(&mut reader, "chat:message").await;
    assert_eq!(message["id"], id);
    assert_eq!(message["room"], room.as_str());
    assert_eq!(message["body"], body, "stored and sent as text");
    assert!(message["seq"].is_u64(), "a numbered room event");

    // The same clientId again (a retry after a reconnect): the first message, not a second.
    sender
        .send_json(json!({"type": "chat:send", "room": room, "body": body, "clientId": "c-1"}))
        .await;
    let again = next_of(&mut sender, "chat:ack").await;
    assert_eq!(
        (again["id"].as_i64(), again["duplicate"].clone()),
        (Some(id), json!(true))
    );

    for (frame, code) in [
        (
            json!({"type": "chat:send", "room": room, "body": "ring\u{7}", "clientId": "c-2"}),
            "invalid_body",
        ),
        (
            json!({"type": "chat:send", "room": room, "body": "   ", "clientId": "c-3"}),
            "invalid_body",
        ),
        (
            json!({"type": "chat:send", "room": "church:999", "body": "hi", "clientId": "c-4"}),
            "not_in_room",
        ),
        (
            json!({"type": "chat:send", "room": room, "body": "hi"}),
            "invalid_frame",
        ),
    ] {
        sender.send_json(frame).await;
        assert_eq!(next_of(&mut sender, "error").await["code"], code);
    }

    let page = app
        .get_json(&format!("/api/chat/{room}/messages?limit=10"), &admin)
        .await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], id);
    assert_eq!(messages[0]["body"], body);
    assert_eq!(page["nextBefore"], Value::Null);
    let other = app.login(&app.other.staff_email).await;
    let response = app.get(&format!("/api/chat/{room}/messages"), &other).await;
    assert_eq!(
        response.status(),
        404,
        "another church's room does not exist for them"
    );
    let response = app.get("/api/chat/user:1/messages", &admin).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_admit_their_members_only_and_announce_joins() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    belfry::accounts::create_user(
        &app.state.pool,
        Some(app.grace.id),
        "outsider@grace.test",
        "Outsider",
        "staff",
        super::helpers::PASSWORD.into(),
    )
    .await
    .unwrap();
    let outsider = app.login("outsider@grace.test").await;

    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { app.post_json("/api/chat/rooms", Some(&token), &body).await }
    };
    let refused = create(&staff, json!({"name": "Elders", "memberIds": []})).await;
    assert_eq!(refused.status(), 403);
    let unknown = create(&admin, json!({"name": "Elders", "memberIds": [999_999]})).await;
    assert_eq!(unknown.status(), 422);
    let created = create(&admin, json!({"name": "Elders", "memberIds": [staff_id]})).await;
    assert_eq!(created.status(), 201);
    let channel: Value = created.json().await.unwrap();
    let room = channel["room"].as_str().unwrap().to_owned();
    assert!(room.starts_with("channel:"));
    let again = create(&admin, json!({"name": "Elders", "memberIds": []})).await;
    assert_eq!(again.status(), 409);

    let listed = app.get_json("/api/chat/rooms", &staff).await;
    let rooms: Vec<&str> = listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room"].as_str().unwrap())
        .collect();
    assert!(rooms.contains(&room.as_str()));
    let listed = app.get_json("/api/chat/rooms", &outsider).await;
    assert_eq!(
        listed["rooms"].as_array().unwrap().len(),
        1,
        "only the church room"
    );

    let mut admin_socket = app.connect(&admin).await;
    admin_socket
        .send_json(json!({"type": "chat:join", "room": room}))
        .await;
    next_of(&mut admin_socket, "joined").await;
    let mut staff_socket = app.connect(&staff).await;
    staff_socket
        .send_json(json!({"type": "chat:join", "room": room}))
        .await;
    let joined = admin_socket
        .until(WAIT, |f| {
            f["type"] == "chat:joined" && f["userId"] == staff_id
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(joined["room"], room.as_str());

    let mut outsider_socket = app.connect(&outsider).await;
    outsider_socket
        .send_json(json!({"type": "chat:join", "room": room}))
        .await;
    assert_eq!(
        next_of(&mut outsider_socket, "error").await["code"],
        "forbidden"
    );
    outsider_socket
        .send_json(json!({"type": "chat:send", "room": room, "body": "let me in", "clientId": "x"}))
        .await;
    assert_eq!(
        next_of(&mut outsider_socket, "error").await["code"],
        "not_in_room"
    );
    let response = app
        .get(&format!("/api/chat/{room}/messages"), &outsider)
        .await;
    assert_eq!(response.status(), 404);

    staff_socket
        .send_json(json!({"type": "chat:send", "room": room, "body": "Agenda attached", "clientId": "e-1"}))
        .await;
    assert_eq!(
        next_of(&mut admin_socket, "chat:message").await["body"],
        "Agenda attached"
    );
    staff_socket
        .send_json(json!({"type": "chat:leave", "room": room}))
        .await;
    let left = next_of(&mut admin_socket, "chat:left").await;
    assert_eq!(left["userId"], staff_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_is_announced_once_and_expires_on_its_own() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let room = format!("church:{}", app.grace.id);
    let mut watcher = app.connect(&admin).await;
    let mut typist = app.connect(&staff).await;
    typist
        .send_json(json!({"type": "typing:start", "room": room}))
        .await;
    let typing = next_of(&mut watcher, "typing").await;
    assert_eq!(typing["userIds"], json!([staff_id]));
    assert!(typing.get("seq").is_none(), "typing is not kept for resume");
    // Repeats while typing change nothing, so nothing is sent.
    for _ in 0..3 {
        typist
            .send_json(json!({"type": "typing:start", "room": room}))
            .await;
    }
    typist
        .send_json(json!({"type": "typing:stop", "room": room}))
        .await;
    let stopped = next_of(&mut watcher, "typing").await;
    assert_eq!(
        stopped["userIds"],
        json!([]),
        "the repeats were not announced"
    );

    typist
        .send_json(json!({"type": "typing:start", "room": room}))
        .await;
    assert_eq!(
        next_of(&mut watcher, "typing").await["userIds"],
        json!([staff_id])
    );
    // No stop: it expires by itself after five seconds.
    let expired = watcher
        .until(Duration::from_secs(8), |f| f["type"] == "typing")
        .await
        .pop()
        .unwrap();
    assert_eq!(expired["userIds"], json!([]));
}

/// The status the next presence change about `user` gives.
async fn status_of(socket: &mut WsClient, user: i64) -> String {
    let about = |f: &Value| {
        f["type"] == "presence:changed"
            && f["changes"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["userId"] == user))
    };
    let event = socket.until(WAIT, about).await.pop().unwrap();
    let change = event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["userId"] == user)
        .unwrap()
        .clone();
    change["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_counts_tabs_once_and_goes_offline_after_the_grace_period() {
    let app = spawn_app_with(&[("BELFRY_PRESENCE_GRACE_MS", "300")]).await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let mut watcher = app.connect(&admin).await;
    let online = app.get_json("/api/presence", &admin).await;
    assert!(
        !online["online"]
            .as_array()
            .unwrap()
            .contains(&json!(staff_id))
    );

    let first_tab = app.connect(&staff).await;
    assert_eq!(status_of(&mut watcher, staff_id).await, "online");
    let second_tab = app.connect(&staff).await;
    let online = app.get_json("/api/presence", &admin).await;
    assert!(
        online["online"]
            .as_array()
            .unwrap()
            .contains(&json!(staff_id))
    );

    first_tab.close().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let online = app.get_json("/api/presence", &admin).await;
    assert!(
        online["online"]
            .as_array()
            .unwrap()
            .contains(&json!(staff_id)),
        "still online in the other tab"
    );
    second_tab.close().await;
    assert_eq!(status_of(&mut watcher, staff_id).await, "offline");
    let online = app.get_json("/api/presence", &admin).await;
    assert!(
        !online["online"]
            .as_array()
            .unwrap()
            .contains(&json!(staff_id))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_arrivals_at_once_are_announced_in_events_of_at_most_64_changes() {
    let app = spawn_app_with(&[("BELFRY_LIMIT_EXEMPT_CIDRS", "127.0.0.0/8")]).await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut watcher = app.connect(&admin).await;
    let arrivals: HashSet<i64> = (1_000_000..1_000_200).collect();
    let tokens = app.staff_tokens(1_000_000..1_000_200, app.grace.id).await;
    let connecting = tokens.iter().map(|token| {
        let app = &app;
        async move { app.connect(token).await }
    });
    let _sockets = futures_util::future::join_all(connecting).await;

    let (mut announced, mut timestamps) = (HashSet::new(), Vec::new());
    while announced.len() < arrivals.len() {
        let event = next_of(&mut watcher, "presence:changed").await;
        let changes = event["changes"].as_array().unwrap();
        assert!(
            changes.len() <= 64,
            "{} changes in one event",
            changes.len()
        );
        for change in changes {
            let user = change["userId"].as_i64().unwrap();
            if arrivals.contains(&user) {
                assert_eq!(change["status"], "online");
                announced.insert(user);
            }
        }
        timestamps.push(event["timestamp"].clone());
    }
    assert_eq!(announced, arrivals);
    // Changes gathered together beyond 64 came as several events of one gathering.
    assert!(
        timestamps.windows(2).any(|pair| pair[0] == pair[1]),
        "no gathering was split: {timestamps:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_receipts_move_forward_only_and_are_broadcast() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let room = format!("church:{}", app.grace.id);
    let mut writer = app.connect(&admin).await;
    let mut reader = app.connect(&staff).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        writer
            .send_json(json!({"type": "chat:send", "room": room, "body": format!("note {n}"), "clientId": format!("r-{n}")}))
            .await;
        ids.push(
            next_of(&mut writer, "chat:ack").await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    reader
        .send_json(json!({"type": "chat:read", "room": room, "messageId": ids[1]}))
        .await;
    let read = next_of(&mut writer, "chat:read").await;
    assert_eq!(
        (read["userId"].as_i64(), read["messageId"].as_i64()),
        (Some(staff_id), Some(ids[1]))
    );
    // Reading an older message does not move the mark back, and announces nothing.
    reader
        .send_json(json!({"type": "chat:read", "room": room, "messageId": ids[0]}))
        .await;
    reader
        .send_json(json!({"type": "chat:read", "room": room, "messageId": 987_654}))
        .await;
    assert_eq!(
        next_of(&mut reader, "error").await["code"],
        "unknown_message"
    );
    let later: Vec<Value> = {
        let mut seen = Vec::new();
        while let Some(frame) = writer.next_json(Duration::from_millis(300)).await {
            seen.push(frame);
        }
        seen
    };
    assert!(later.iter().all(|f| f["type"] != "chat:read"), "{later:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_missed_beyond_the_history_come_from_the_database() {
    let app = spawn_app_with(&[("BELFRY_WS_HISTORY_SIZE", "2")]).await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let room = format!("church:{}", app.grace.id);
    let mut sender = app.connect(&staff).await;
    let mut reader = app.connect(&admin).await;

    let mut ids = Vec::new();
    let send = async |sender: &mut WsClient, n: usize| {
        let body = format!("message {n}");
        sender
            .send_json(json!({"type": "chat:send", "room": room, "body": body, "clientId": format!("c-{n}")}))
            .await;
        next_of(sender, "chat:ack").await["id"].as_i64().unwrap()
    };
    ids.push(send(&mut sender, 0).await);
    let seen = next_of(&mut reader, "chat:message").await;
    let (epoch, seq) = (seen["epoch"].clone(), seen["seq"].as_u64().unwrap());
    reader.close().await;
    for n in 1..=5 {
        ids.push(send(&mut sender, n).await);
    }

    // Five were missed but the room keeps two events: the reader is reset ...
    let epoch = epoch.as_str().unwrap();
    let url = format!("{}&resume={room}:{epoch}:{seq}", app.ws_url(&admin));
    let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut reader = WsClient::raw(stream);
    next_of(&mut reader, "reset").await;

    // ... and asks the database for the messages after the last one it saw, in pages.
    let mut caught_up = Vec::new();
    let mut after = ids[0];
    loop {
        reader
            .send_json(json!({"type": "chat:history", "room": room, "after": after, "limit": 2}))
            .await;
        let page = next_of(&mut reader, "chat:history").await;
        assert_eq!(page["room"], room.as_str());
        for message in page["messages"].as_array().unwrap() {
            caught_up.push(message["id"].as_i64().unwrap());
            assert_eq!(message["body"], format!("message {}", caught_up.len()));
        }
        after = *caught_up.last().unwrap();
        if page["more"] == false {
            break;
        }
    }
    assert_eq!(
        caught_up,
        ids[1..],
        "every missed message once, oldest first"
    );

    reader
        .send_json(json!({"type": "chat:history", "room": room, "after": 0, "limit": 500}))
        .await;
    assert_eq!(next_of(&mut reader, "error").await["code"], "invalid_limit");
    reader
        .send_json(json!({"type": "chat:history", "room": "church:999", "after": 0}))
        .await;
    assert_eq!(next_of(&mut reader, "error").await["code"], "not_in_room");

    // The same over HTTP.
    let page = app
        .get_json(
            &format!("/api/chat/{room}/messages?after={}&limit=3", ids[0]),
            &admin,
        )
        .await;
    let got: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[1..4]);
    assert_eq!(page["nextAfter"], ids[3]);
    let both = app
        .get(
            &format!("/api/chat/{room}/messages?after=1&before=9"),
            &admin,
        )
        .await;
    assert_eq!(both.status(), 400);
}
