//! The WebSocket protocol `belfry.v1` as Rust types: every frame the server sends and every
//! frame a client may send (docs/protocol.md documents the same frames; a test holds the two
//! together).
//!
//! The server sends two kinds of frames. A [`RoomEvent`] happens in a room and is numbered by
//! it: the room wraps the event in [`Numbered`] (`room`, `epoch`, `seq`), keeps it for resume
//! and fans it out. A [`Frame`] is not numbered: the session's own answers (`welcome`,
//! `chat:ack`, …) and a room's greetings and typing lists. Both are encoded once into an
//! [`EncodedFrame`] that every receiving socket shares. Nothing builds a frame by splicing
//! JSON text: the shapes live here only.

mod client_frame;
mod conversation;
mod encoded;
mod notification;
mod room_event;
mod server_frame;

pub use client_frame::{ClientFrame, ResumeItem};
pub use conversation::{ConversationLine, ConversationMessageEvent, Direction};
pub use encoded::EncodedFrame;
pub use notification::{
    BulkProgress, Category, Notification, NotificationChange, NotificationCounts,
    NotificationUpdate, Priority, Touched,
};
pub use room_event::{
    BreakerState, ChatMessage, ChatMessageEvent, MessageCreatedEvent, MessageEvent, PresenceChange,
    PresenceStatus, RoomEvent,
};
pub use server_frame::{Frame, RoomPoint};

use serde::Serialize;
use strum::IntoEnumIterator;

/// The subprotocol name.
pub const PROTOCOL: &str = "belfry.v1";

/// The room every admin and operator socket joins: the platform's state (the breaker's).
pub const ADMINS_ROOM: &str = "admins";

/// A moment as every frame writes it: RFC 3339 in UTC, to the millisecond.
pub fn timestamp_of(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now, as every frame writes a moment.
pub fn timestamp() -> String {
    timestamp_of(chrono::Utc::now())
}

pub fn church_room(church_id: i64) -> String {
    format!("church:{church_id}")
}

/// A church's admins: what concerns only those who manage that church (its sending paused).
pub fn church_admins_room(church_id: i64) -> String {
    format!("church:{church_id}:admins")
}

pub fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// A room event as its room sends it: numbered within the room's epoch.
#[derive(Debug, Serialize)]
pub struct Numbered<'a> {
    pub room: &'a str,
    pub epoch: &'a str,
    pub seq: u64,
    #[serde(flatten)]
    pub event: &'a RoomEvent,
}

fn type_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The `type` of every frame the server sends, numbered or not.
pub fn server_frame_types() -> Vec<String> {
    let mut types: Vec<String> = Frame::iter().map(|f| type_of(&f)).collect();
    types.extend(RoomEvent::iter().map(|e| type_of(&e)));
    types
}

/// The `type` of every frame a client may send.
pub fn client_frame_types() -> Vec<String> {
    ClientFrame::iter().map(|f| type_of(&f)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The frame index of docs/protocol.md: `type` → direction.
    fn documented() -> Vec<(String, String)> {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md"));
        let section = doc
            .split("### Every frame")
            .nth(1)
            .expect("docs/protocol.md has a section \"Every frame\"");
        let section = section.split("\n#").next().unwrap_or_default();
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
            })
            .collect()
    }

    #[test]
    fn every_frame_in_the_code_is_documented_and_every_documented_frame_exists() {
        let documented = documented();
        let in_doc = |direction: &str| -> BTreeSet<String> {
            documented
                .iter()
                .filter(|(_, d)| d == direction)
                .map(|(t, _)| t.clone())
                .collect()
        };
        let server: BTreeSet<String> = server_frame_types().into_iter().collect();
        let client: BTreeSet<String> = client_frame_types().into_iter().collect();
        assert_eq!(
            server.len(),
            server_frame_types().len(),
            "a server type twice"
        );
        assert_eq!(in_doc("server"), server, "server frames");
        assert_eq!(in_doc("client"), client, "client frames");
        assert_eq!(
            documented.len(),
            server.len() + client.len(),
            "rows of other directions or repeated rows"
        );
    }

    #[test]
    fn a_numbered_event_carries_each_key_once() {
        let post = ChatMessageEvent {
            id: 812,
            user_id: 2,
            body: "Choir at 7".into(),
            client_id: Some("a1b2".into()),
            created_at: chrono::DateTime::default(),
            mentions: vec![3],
        };
        let event = RoomEvent::ChatMessage(post);
        let numbered = Numbered {
            room: "church:1",
            epoch: "e1",
            seq: 60,
            event: &event,
        };
        let text = serde_json::to_string(&numbered).unwrap();
        assert_eq!(text.matches("\"room\"").count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "chat:message");
        assert_eq!(value["seq"], 60);
        assert_eq!(value["room"], "church:1");
        assert_eq!(value["clientId"], "a1b2");
    }
}
