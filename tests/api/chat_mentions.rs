//! Chat @mentions over real sockets: a mentioned person who does not read the message soon is
//! told once in a `chat` notification, one who reads it is not; only people who can read the
//! room may be mentioned, and the mentions travel with the message and its history.

use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, WsClient, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

async fn next_of(socket: &mut WsClient, kind: &str) -> Value {
    socket
        .until(WAIT, |f| f["type"] == kind)
        .await
        .pop()
        .unwrap()
}

async fn chat_notifications(app: &TestApp, token: &str) -> Vec<Value> {
    let inbox = app
        .get_json("/api/notifications?category=chat", token)
        .await;
    inbox["notifications"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_not_read_soon_tells_the_person_once() {
    let app = spawn_app_with(&[("BELFRY_MENTION_AFTER_MS", "400")]).await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let admin_id = app.user_id(&admin);
    let room = format!("church:{}", app.grace.id);
    let mut author = app.connect(&admin).await;
    let mut reader = app.connect(&staff).await;

    // Mentioned, not read: told after the wait, with where and by whom.
    author
        .send_json(
            json!({"type": "chat:send", "room": room, "body": "@Staff can you open up Sunday?",
            "clientId": "m-1", "mentions": [staff_id, staff_id, admin_id]}),
        )
        .await;
    let ack = next_of(&mut author, "chat:ack").await;
    let posted = next_of(&mut reader, "chat:message").await;
    // The author is not mentioned by themself; each person once.
    assert_eq!(posted["mentions"], json!([staff_id]), "{posted}");
    let told = next_of(&mut reader, "notification:new").await;
    let notification = &told["notification"];
    assert_eq!(notification["category"], "chat");
    assert!(
        notification["title"]
            .as_str()
            .unwrap()
            .ends_with("mentioned you in the church's chat"),
        "{notification}"
    );
    assert_eq!(notification["data"]["messageId"], ack["id"]);
    assert_eq!(notification["data"]["room"], room);
    assert_eq!(notification["data"]["by"], admin_id);
    assert!(chat_notifications(&app, &admin).await.is_empty());

    // Sent again under the same clientId: the same message, no second notice.
    author
        .send_json(
            json!({"type": "chat:send", "room": room, "body": "@Staff can you open up Sunday?",
            "clientId": "m-1", "mentions": [staff_id]}),
        )
        .await;
    assert_eq!(next_of(&mut author, "chat:ack").await["duplicate"], true);

    // Mentioned and read at once: nobody is disturbed.
    author
        .send_json(
            json!({"type": "chat:send", "room": room, "body": "@Staff thanks!",
            "clientId": "m-2", "mentions": [staff_id]}),
        )
        .await;
    let read = next_of(&mut reader, "chat:message").await;
    reader
        .send_json(json!({"type": "chat:read", "room": room, "messageId": read["id"]}))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let notices = chat_notifications(&app, &staff).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["data"]["messageId"], ack["id"]);

    // The history keeps who was mentioned.
    let history = app
        .get_json(&format!("/api/chat/{room}/messages"), &staff)
        .await;
    let first = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == ack["id"])
        .cloned()
        .unwrap();
    assert_eq!(first["mentions"], json!([staff_id]));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_people_who_can_read_the_room_may_be_mentioned() {
    let app = spawn_app_with(&[("BELFRY_MENTION_AFTER_MS", "200")]).await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let other_staff = app.login(&app.other.staff_email).await;
    let other_id = app.user_id(&other_staff);
    belfry::accounts::create_user(
        &app.state.pool,
        Some(app.grace.id),
        "outsider@grace.test",
        "Outsider",
        "staff",
        PASSWORD.into(),
    )
    .await
    .unwrap();
    let outsider = app.login("outsider@grace.test").await;
    let outsider_id = app.user_id(&outsider);
    let church_room = format!("church:{}", app.grace.id);
    let mut author = app.connect(&admin).await;

    // Another church's person, or nobody at all: refused, and nothing is stored.
    for (mentions, client_id) in [
        (json!([other_id]), "x-1"),
        (json!([999_999]), "x-2"),
        (
            json!((1..=21).map(|n| n + 1_000).collect::<Vec<i64>>()),
            "x-3",
        ),
    ] {
        author
            .send_json(
                json!({"type": "chat:send", "room": church_room, "body": "hello",
                "clientId": client_id, "mentions": mentions}),
            )
            .await;
        let error = next_of(&mut author, "error").await;
        assert_eq!(error["code"], "invalid_mentions", "{error}");
    }
    author
        .send_json(
            json!({"type": "chat:send", "room": church_room, "body": "hello",
            "clientId": "x-4", "mentions": "everyone"}),
        )
        .await;
    assert_eq!(next_of(&mut author, "error").await["code"], "invalid_frame");
    let history = app
        .get_json(&format!("/api/chat/{church_room}/messages"), &admin)
        .await;
    assert!(
        history["messages"].as_array().unwrap().is_empty(),
        "{history}"
    );

    // In a channel, only its members: the church's outsider is refused there.
    let created = app
        .post_json(
            "/api/chat/rooms",
            Some(&admin),
            &json!({"name": "Elders", "memberIds": [staff_id]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let channel: Value = created.json().await.unwrap();
    let room = channel["room"].as_str().unwrap().to_owned();
    author
        .send_json(json!({"type": "chat:join", "room": room}))
        .await;
    next_of(&mut author, "joined").await;
    author
        .send_json(
            json!({"type": "chat:send", "room": room, "body": "@Outsider hi",
            "clientId": "c-1", "mentions": [outsider_id]}),
        )
        .await;
    assert_eq!(
        next_of(&mut author, "error").await["code"],
        "invalid_mentions"
    );
    let mut staff_socket = app.connect(&staff).await;
    author
        .send_json(
            json!({"type": "chat:send", "room": room, "body": "@Staff agenda?",
            "clientId": "c-2", "mentions": [staff_id]}),
        )
        .await;
    next_of(&mut author, "chat:ack").await;
    let told = next_of(&mut staff_socket, "notification:new").await;
    assert!(
        told["notification"]["title"]
            .as_str()
            .unwrap()
            .ends_with("mentioned you in #Elders"),
        "{told}"
    );
    assert!(chat_notifications(&app, &outsider).await.is_empty());
    assert!(chat_notifications(&app, &other_staff).await.is_empty());
}
