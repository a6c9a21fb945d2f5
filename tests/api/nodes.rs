//! Several nodes on one database: each registers and beats, operators list them, and what one
//! node has in flight is left alone by another node's start-up; once the node stops, another
//! recovers what it left (claimed sends go out, sends on the wire are dead-lettered for review,
//! none is sent twice).

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::Reply;
use super::helpers::spawn_app_with;

const WAIT: Duration = Duration::from_secs(15);

/// `path` on the server at `base`, as `token` sees it.
async fn get_at(http: &reqwest::Client, base: &str, path: &str, token: &str) -> Value {
    http.get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_node_leaves_the_firsts_sends_alone_until_it_stops() {
    let app = spawn_app_with(&[
        ("BELFRY_NODE_LEASE_MS", "1500"),
        ("BELFRY_OUTBOX_REAP_MS", "200"),
        // Calls hang on the wire for as long as the test needs.
        ("BELFRY_SEND_TIMEOUT_MS", "60000"),
    ])
    .await;
    app.telnyx.always(Reply::Hang);
    let staff = app.login(&app.grace.staff_email).await;
    let operator = app.operator().await;
    let message_id = app.send(&staff, &app.grace.member_ids).await;
    let members = app.grace.member_ids.len();
    app.telnyx.wait_for_requests(members).await;

    // A second node on the same database starts while the first has every send on the wire.
    let second = app.another_server().await;
    let http = reqwest::Client::new();
    let listed: Value = get_at(&http, &second.url, "/api/admin/nodes", &operator).await;
    let nodes = listed["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{listed}");
    assert!(nodes.iter().all(|n| n["alive"] == true), "{listed}");
    let first_id = nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .find(|id| *id != listed["thisNode"])
        .unwrap()
        .to_owned();
    assert_eq!(listed["leaseMs"], 1500);

    // Past several of its recovery rounds the second node has taken nothing of the first's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let admin = app.login(&app.grace.admin_email).await;
    let letters = app.get_json("/api/admin/dlq", &admin).await;
    assert_eq!(letters["total"], 0, "{letters}");

    // Staff and admins may not see the nodes.
    let refused = app.get("/api/admin/nodes", &admin).await;
    assert_eq!(refused.status(), 403);

    // The first node stops: the second recovers what it had on the wire, for review, and
    // does not send it again.
    app.stop();
    let deadline = tokio::time::Instant::now() + WAIT;
    let letters = loop {
        let letters: Value = get_at(&http, &second.url, "/api/admin/dlq", &admin).await;
        if letters["total"] == members {
            break letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "{letters}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        letters["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["reason"].as_str().unwrap().starts_with("interrupted")
                && l["messageId"] == message_id),
        "{letters}"
    );
    assert_eq!(app.telnyx.requests().len(), members);
    let listed: Value = get_at(&http, &second.url, "/api/admin/nodes", &operator).await;
    let first = listed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == first_id)
        .cloned()
        .unwrap();
    assert_eq!(first["alive"], false, "{listed}");
    assert!(first["stoppedAt"].is_string(), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_a_dead_node_had_claimed_go_out_from_another() {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    let app = spawn_app_with(&[
        ("BELFRY_NODE_LEASE_MS", "1000"),
        ("BELFRY_OUTBOX_REAP_MS", "200"),
    ])
    .await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let pause = |paused: bool| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let set = app
                .post_json(
                    "/api/admin/sending",
                    Some(&admin),
                    &json!({"paused": paused}),
                )
                .await;
            assert_eq!(set.status(), 200);
        }
    };
    // Claimed by a node that beat long ago and never came back, as a crash leaves them.
    pause(true).await;
    let message_id = app.send(&staff, &app.grace.member_ids).await;
    {
        let mut conn = app.state.pool.get().await.unwrap();
        diesel::sql_query(
            "INSERT INTO nodes (id, version, started_at, heartbeat_at) \
             VALUES ('gone:1', '0', now() - interval '1 hour', now() - interval '1 hour')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(
            "UPDATE message_recipients SET outbox_state = 'claimed', claimed_by = $2 \
             WHERE message_id = $1",
        )
        .bind::<BigInt, _>(message_id)
        .bind::<Text, _>("gone:1")
        .execute(&mut conn)
        .await
        .unwrap();
    }
    pause(false).await;
    let accepted = app
        .accepted(&staff, message_id, app.grace.member_ids.len())
        .await;
    assert_eq!(accepted.len(), app.grace.member_ids.len());
    assert_eq!(app.telnyx.requests().len(), app.grace.member_ids.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operators_breaker_order_holds_on_every_node_and_after_a_start() {
    let app = spawn_app_with(&[]).await;
    let second = app.another_server().await;
    let operator = app.operator().await;
    let staff = app.login(&app.grace.staff_email).await;
    let http = reqwest::Client::new();
    let state_at = |url: String| {
        let (http, operator) = (http.clone(), operator.clone());
        async move {
            let snapshot = get_at(&http, &url, "/api/admin/breaker", &operator).await;
            snapshot["state"].as_str().unwrap().to_owned()
        }
    };
    let wait_for = |url: String, wanted: &'static str| {
        let state_at = &state_at;
        async move {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let state = state_at(url.clone()).await;
                if state == wanted {
                    return;
                }
                assert!(tokio::time::Instant::now() < deadline, "still {state}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // Forced open through the first node: the second follows, and sends nothing.
    let forced = app
        .post_json(
            "/api/admin/breaker",
            Some(&operator),
            &json!({"state": "forced_open"}),
        )
        .await;
    assert_eq!(forced.status(), 200);
    wait_for(second.url.clone(), "forced_open").await;
    let receipt = super::helpers::broadcast_at(&second.url, &staff, "Held by the order").await;
    let message_id = receipt["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(app.telnyx.requests().is_empty());

    // A node that starts now starts forced open.
    let third = app.another_server().await;
    assert_eq!(state_at(third.url.clone()).await, "forced_open");

    // Closed through the second node: the first follows, and the held sends go.
    let closed = http
        .post(format!("{}/api/admin/breaker", second.url))
        .bearer_auth(&operator)
        .json(&json!({"state": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    wait_for(app.url.clone(), "closed").await;
    wait_for(third.url.clone(), "closed").await;
    app.accepted(&staff, message_id, app.grace.member_ids.len())
        .await;
}
