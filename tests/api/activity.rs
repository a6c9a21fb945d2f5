//! The dashboard's views of what the system is doing: the throughput chart's figures, the rooms
//! with their connections, the churches an operator picks from, and each of them limited to
//! the caller's church unless an operator asks for everything.

use std::time::Duration;

use serde_json::{Value, json};

use super::fake_telnyx::FakeTelnyx;
use super::helpers::{TestApp, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

/// Sends, deliveries and socket events summed over every point of a throughput answer.
fn totals(view: &Value) -> (u64, u64, u64) {
    assert_eq!(view["stepSeconds"], 10);
    let points = view["points"].as_array().expect("points");
    assert!(!points.is_empty(), "the running step is always there");
    points.iter().fold((0, 0, 0), |(s, d, e), p| {
        assert!(p["at"].is_string() && p["seconds"].as_f64().unwrap() >= 0.0);
        (
            s + p["sends"].as_u64().unwrap(),
            d + p["deliveries"].as_u64().unwrap(),
            e + p["socketEvents"].as_u64().unwrap(),
        )
    })
}

/// Sends to every member of Grace and has the carrier report each delivered.
async fn deliver_to_grace(app: &TestApp, staff: &str) -> usize {
    let id = app.send(staff, &app.grace.member_ids).await;
    let n = app.grace.member_ids.len();
    for (i, (phone, carrier_id)) in app.accepted(staff, id, n).await.iter().enumerate() {
        let done = FakeTelnyx::event(
            &format!("done-{i}"),
            "message.finalized",
            carrier_id,
            phone,
            "delivered",
            json!([]),
        );
        assert_eq!(app.telnyx.post_webhook(&app.url, &done).await.status(), 200);
    }
    app.wait_for_message(staff, id, |m| m["deliveredCount"] == n)
        .await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_throughput_chart_counts_a_churchs_sends_deliveries_and_socket_events_and_no_one_elses()
{
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&staff).await;
    let other_staff = app.login(&app.other.staff_email).await;
    let mut other_socket = app.connect(&other_staff).await;
    // The other church's socket hears of its own people coming online, and then nothing.
    while other_socket
        .next_json(Duration::from_millis(300))
        .await
        .is_some()
    {}
    let other_admin = app.login(&app.other.admin_email).await;
    let other_before = totals(&app.get_json("/api/admin/throughput", &other_admin).await);
    let n = deliver_to_grace(&app, &staff).await;
    socket
        .until(WAIT, |f| {
            f["type"] == "message:delivered" && f["deliveredCount"] == n
        })
        .await;

    let admin = app.login(&app.grace.admin_email).await;
    let (sends, deliveries, events) = totals(&app.get_json("/api/admin/throughput", &admin).await);
    assert_eq!((sends, deliveries), (n as u64, n as u64));
    // At least each recipient's delivery reached the staff member's socket.
    assert!(events >= n as u64, "{events} socket events");

    assert_eq!(other_before.0 + other_before.1, 0);
    assert_eq!(
        totals(&app.get_json("/api/admin/throughput", &other_admin).await),
        other_before,
        "another church sees none of it"
    );
    let refused = app
        .get(
            &format!("/api/admin/throughput?churchId={}", app.grace.id),
            &other_admin,
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        app.get("/api/admin/throughput", &staff).await.status(),
        403,
        "admins only"
    );

    let operator = app.operator().await;
    let everyone = totals(&app.get_json("/api/admin/throughput", &operator).await);
    assert_eq!((everyone.0, everyone.1), (n as u64, n as u64));
    let grace = totals(
        &app.get_json(
            &format!("/api/admin/throughput?churchId={}", app.grace.id),
            &operator,
        )
        .await,
    );
    assert_eq!((grace.0, grace.1), (n as u64, n as u64));
    let bad = app.get("/api/admin/throughput?churchId=0", &operator).await;
    assert_eq!(bad.status(), 400);
}

/// `room name → sockets` of a rooms answer, checking the total it gives.
fn rooms(view: &Value) -> Vec<(String, u64)> {
    let rooms: Vec<(String, u64)> = view["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["active"].is_boolean() && r["idleSeconds"].is_u64());
            (
                r["name"].as_str().unwrap().to_owned(),
                r["sockets"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        view["memberships"].as_u64().unwrap(),
        rooms.iter().map(|(_, n)| n).sum::<u64>()
    );
    rooms
}

fn sockets_in(rooms: &[(String, u64)], name: &str) -> Option<u64> {
    rooms.iter().find(|(n, _)| n == name).map(|(_, n)| *n)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rooms_view_counts_each_rooms_connections_within_the_callers_church() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let first = app.connect(&staff).await;
    let _second = app.connect(&staff).await;
    let other_staff = app.login(&app.other.staff_email).await;
    let _other = app.connect(&other_staff).await;
    let (grace_room, other_room) = (
        format!("church:{}", app.grace.id),
        format!("church:{}", app.other.id),
    );

    let admin = app.login(&app.grace.admin_email).await;
    let seen = rooms(&app.get_json("/api/admin/rooms", &admin).await);
    assert_eq!(sockets_in(&seen, &grace_room), Some(2), "{seen:?}");
    assert_eq!(
        sockets_in(&seen, &format!("user:{staff_id}")),
        Some(2),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(name, _)| !name.contains(&other_room)
            && name != &format!("user:{}", app.user_id(&other_staff))),
        "another church's rooms are hidden: {seen:?}"
    );

    let operator = app.operator().await;
    let everything = rooms(&app.get_json("/api/admin/rooms", &operator).await);
    assert_eq!(sockets_in(&everything, &other_room), Some(1));
    assert_eq!(sockets_in(&everything, &grace_room), Some(2));
    let other = rooms(
        &app.get_json(
            &format!("/api/admin/rooms?churchId={}", app.other.id),
            &operator,
        )
        .await,
    );
    assert_eq!(sockets_in(&other, &other_room), Some(1));
    assert_eq!(sockets_in(&other, &grace_room), None);
    // The tree takes the same filter.
    let tree = app
        .get_json(
            &format!("/api/admin/actors?churchId={}", app.other.id),
            &operator,
        )
        .await
        .to_string();
    assert!(!tree.contains(&format!("\"{grace_room}\"")), "{tree}");

    first.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = rooms(&app.get_json("/api/admin/rooms", &admin).await);
        if sockets_in(&now, &grace_room) == Some(1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed socket left its rooms: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_list_the_churches_with_their_counts_and_admins_may_not() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let list = app.get_json("/api/admin/churches", &operator).await;
    let churches = list["churches"].as_array().unwrap();
    let grace = churches
        .iter()
        .find(|c| c["id"] == app.grace.id)
        .expect("Grace is listed");
    assert_eq!(grace["members"], app.grace.member_ids.len());
    // An admin and a staff member.
    assert_eq!(grace["users"], 2);
    assert_eq!(grace["sendingPaused"], false);
    assert!(churches.iter().any(|c| c["id"] == app.other.id));

    let admin = app.login(&app.grace.admin_email).await;
    assert_eq!(app.get("/api/admin/churches", &admin).await.status(), 403);
}
