//! An admin's send to many people: stored for everyone at once, pushed in chunks, and its
//! sender's sockets told how far it got (`notification:bulk_progress`), nobody else's.

use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{WsClient, spawn_app};

const WAIT: Duration = Duration::from_secs(20);

/// Every frame the socket gets within `wait`.
async fn frames_for(socket: &mut WsClient, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_json(left).await {
            Some(frame) => seen.push(frame),
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_to_many_tells_its_sender_how_far_it_got() {
    let app = spawn_app().await;
    let many = app.staff_tokens(50_000..51_200, app.grace.id).await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut sender_socket = app.connect(&admin).await;
    let mut staff_socket = app.connect(&many[0]).await;

    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(&admin),
            &json!({"audience": {"church": true}, "title": "Rota", "body": "The new rota is up"}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let sent: Value = sent.json().await.unwrap();
    let recipients = sent["recipientCount"].as_i64().unwrap();
    assert!(recipients > 1_200, "{sent}");

    let progress: Vec<Value> = sender_socket
        .until(WAIT, |f| {
            f["type"] == "notification:bulk_progress" && f["done"] == true
        })
        .await
        .into_iter()
        .filter(|f| f["type"] == "notification:bulk_progress")
        .collect();
    // Pushed in chunks of 500: the sender saw it move, not only end.
    assert!(progress.len() >= 3, "{progress:?}");
    let announced: Vec<i64> = progress
        .iter()
        .map(|f| {
            assert_eq!(f["id"], sent["id"]);
            assert_eq!(f["recipientCount"], recipients);
            f["announced"].as_i64().unwrap()
        })
        .collect();
    assert!(announced.windows(2).all(|w| w[0] < w[1]), "{announced:?}");
    assert_eq!(*announced.last().unwrap(), recipients);
    assert!(
        progress[..progress.len() - 1]
            .iter()
            .all(|f| f["done"] == false)
    );

    // A recipient gets the notification, not the sender's progress.
    let frames = staff_socket
        .until(WAIT, |f| f["type"] == "notification:new")
        .await;
    assert_eq!(frames.last().unwrap()["notification"]["title"], "Rota");
    let late = frames_for(&mut staff_socket, Duration::from_millis(500)).await;
    assert!(
        frames
            .iter()
            .chain(&late)
            .all(|f| f["type"] != "notification:bulk_progress"),
        "{frames:?} {late:?}"
    );
    // Everyone has it in their inbox once the progress says so.
    let inbox = app.get_json("/api/notifications", &many[1_199]).await;
    assert_eq!(inbox["notifications"][0]["title"], "Rota");

    // The same send again under its Idempotency-Key is answered, not announced again.
    let target = app.user_id(&many[5]);
    let key_send = |key: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.http
                .post(format!("{}/api/admin/notifications", app.url))
                .bearer_auth(&admin)
                .header("idempotency-key", key)
                .json(&json!({"audience": {"userIds": [target]}, "title": "Once", "body": "Once"}))
                .send()
                .await
                .unwrap()
        }
    };
    let first = key_send("bulk-once").await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let frames = sender_socket
        .until(WAIT, |f| {
            f["type"] == "notification:bulk_progress" && f["id"] == first["id"]
        })
        .await;
    assert_eq!(frames.last().unwrap()["done"], true);
    let again = key_send("bulk-once").await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let late = frames_for(&mut sender_socket, Duration::from_millis(800)).await;
    assert!(
        late.iter()
            .all(|f| f["type"] != "notification:bulk_progress"),
        "{late:?}"
    );
}
