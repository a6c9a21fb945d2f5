//! Events published to rooms, serialised once and shared by every socket in the room.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Serialize;

/// A JSON text frame, encoded once per publish however many sockets receive it. Its bytes are
/// shared, not copied, by every socket's queue and by the socket writes; a transport that
/// writes the same bytes to every receiver (a WebSocket server's frames are unmasked) also
/// builds its encoding once and keeps it beside the text ([`RoomEvent::encoded`]).
#[derive(Debug, Clone)]
pub struct RoomEvent(Arc<Encodings>);

#[derive(Debug)]
struct Encodings {
    text: Bytes,
    wire: OnceLock<Bytes>,
}

impl RoomEvent {
    pub fn from_json<T: Serialize>(value: &T) -> Self {
        // Serialising our own plain structs cannot fail.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        Self::from_text(text)
    }

    /// A frame whose JSON text is already built.
    pub fn from_text(text: String) -> Self {
        Self(Arc::new(Encodings {
            text: Bytes::from(text),
            wire: OnceLock::new(),
        }))
    }

    pub fn as_str(&self) -> &str {
        // Built only from `String`s, so always UTF-8.
        std::str::from_utf8(&self.0.text).unwrap_or_default()
    }

    /// The UTF-8 text, shared rather than copied.
    pub fn to_bytes(&self) -> Bytes {
        self.0.text.clone()
    }

    /// The event as the transport writes it, built by `encode` from the text the first time it
    /// is asked for. Every caller must pass the same encoding: there is one per event.
    pub fn encoded(&self, encode: impl FnOnce(&[u8]) -> Bytes) -> &Bytes {
        self.0.wire.get_or_init(|| encode(&self.0.text))
    }
}

pub fn church_room(church_id: i64) -> String {
    format!("church:{church_id}")
}

pub fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// A recipient's status changed; carries the message's running totals.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub message_id: i64,
    pub recipient_id: i64,
    pub member_id: i64,
    /// The recipient's new status.
    pub status: String,
    /// The message's status after this change.
    pub message_status: String,
    pub timestamp: String,
    pub recipient_count: i64,
    pub delivered_count: i64,
    pub failed_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip)]
    pub church_id: i64,
}

impl MessageEvent {
    /// The event type a browser sees for a recipient reaching `status`.
    pub fn kind_for(status: &str) -> &'static str {
        match status {
            "sent" => "message:sent",
            "delivered" => "message:delivered",
            "failed" | "sending_failed" | "delivery_failed" | "expired" | "skipped" => {
                "message:failed"
            }
            _ => "message:status_update",
        }
    }

    pub fn room(&self) -> String {
        church_room(self.church_id)
    }

    pub fn to_room_event(&self) -> RoomEvent {
        RoomEvent::from_json(self)
    }
}
