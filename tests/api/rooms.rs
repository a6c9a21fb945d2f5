use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use belfry_actors::ports::EventSink;
use belfry_actors::protocol::{EncodedFrame, RoomEvent, church_room};
use serde_json::Value;

use super::helpers::{spawn_app, spawn_app_with};

/// A socket stand-in that panics (inside the room actor) on the first event it is given.
struct PanicsOnce(AtomicBool);

impl EventSink for PanicsOnce {
    fn deliver(&self, event: &EncodedFrame) -> bool {
        let is_event = event.as_str().contains("\"type\":\"chat:read\"");
        if is_event && !self.0.swap(true, Ordering::SeqCst) {
            panic!("sink failure inside the room");
        }
        true
    }
}

fn find<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    if node["name"] == name {
        return Some(node);
    }
    node["children"]
        .as_array()?
        .iter()
        .find_map(|c| find(c, name))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_room_is_restarted_with_its_sockets() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    let room = church_room(app.grace.id);
    let directory = app.state.system.directory();
    assert!(directory.join(
        room.clone(),
        u64::MAX,
        Arc::new(PanicsOnce(AtomicBool::new(false))),
        None
    ));

    directory.publish(
        room.clone(),
        RoomEvent::ChatRead {
            user_id: 0,
            message_id: 1,
        },
    );
    // The room panics during that fan-out; its supervisor restarts it with both members.
    let admin = app.login(&app.grace.admin_email).await;
    let mut restarted = false;
    for _ in 0..100 {
        let tree = app.get_json("/api/admin/actors", &admin).await;
        if find(&tree, &room).is_some_and(|r| r["restarts"] == 1 && r["status"] == "running") {
            restarted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(restarted, "room was not restarted");
    assert_eq!(directory.room_members(&room).await.ok(), Some(2));

    directory.publish(
        room.clone(),
        RoomEvent::ChatRead {
            user_id: 0,
            message_id: 2,
        },
    );
    let frames = socket
        .until(Duration::from_secs(5), |f| f["messageId"] == 2)
        .await;
    assert_eq!(frames.last().unwrap()["type"], "chat:read");
    // The rooms supervisor itself kept running.
    let tree = app.get_json("/api/admin/actors", &admin).await;
    assert_eq!(find(&tree, "rooms").unwrap()["restarts"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_room_is_kept_while_its_history_lasts_then_stops() {
    let app = spawn_app_with(&[("BELFRY_WS_HISTORY_SECS", "1")]).await;
    let token = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let room = church_room(app.grace.id);
    let directory = app.state.system.directory();
    let first = app.connect(&token).await;
    let second = app.connect(&token).await;
    assert_eq!(directory.room_members(&room).await.ok(), Some(2));
    // An event: the room now has an actor, and history worth keeping.
    directory.publish(
        room.clone(),
        RoomEvent::ChatRead {
            user_id: 0,
            message_id: 1,
        },
    );
    first.close().await;
    second.close().await;
    let mut emptied = false;
    for _ in 0..100 {
        if directory.room_members(&room).await.ok() == Some(0) {
            emptied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(emptied, "room never emptied");
    // Still there for a socket that comes back to resume.
    let tree = app.get_json("/api/admin/actors", &admin).await;
    assert!(
        find(&tree, &room).is_some(),
        "an empty room is kept a while"
    );
    for _ in 0..300 {
        let tree = app.get_json("/api/admin/actors", &admin).await;
        if find(&tree, &room).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the empty room was never stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_gets_its_actor_only_when_it_has_something_to_fan_out() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut socket = app.connect(&token).await;
    let directory = app.state.system.directory();
    let welcome_room = {
        let tree = app.get_json("/api/admin/actors", &admin).await;
        let user_rooms: Vec<String> = {
            let mut all = Vec::new();
            collect_names(&tree, &mut all);
            all.into_iter().filter(|n| n.starts_with("user:")).collect()
        };
        assert!(
            user_rooms.is_empty(),
            "dormant user rooms have no actor: {user_rooms:?}"
        );
        // The staff user's room, which the socket joined (its `joined` frame came).
        format!("user:{}", app.user_id(&token))
    };
    assert_eq!(directory.room_members(&welcome_room).await.ok(), Some(1));
    directory.publish(
        welcome_room.clone(),
        RoomEvent::ChatRead {
            user_id: 0,
            message_id: 1,
        },
    );
    let frame = socket
        .until(Duration::from_secs(5), |f| f["type"] == "chat:read")
        .await
        .pop()
        .unwrap();
    assert_eq!(frame["room"], welcome_room.as_str());
    assert_eq!(frame["seq"], 1);
    let tree = app.get_json("/api/admin/actors", &admin).await;
    assert!(
        find(&tree, &welcome_room).is_some(),
        "woken by its first event"
    );
}

fn collect_names(node: &Value, out: &mut Vec<String>) {
    if let Some(name) = node["name"].as_str() {
        out.push(name.to_owned());
    }
    for child in node["children"].as_array().into_iter().flatten() {
        collect_names(child, out);
    }
}
