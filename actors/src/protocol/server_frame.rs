//! Frames the server sends that no room numbers: the session's answers, and a room's greeting
//! of a joining socket and its list of who is typing (stale by the time anyone could resume).

use chrono::{DateTime, Utc};
use serde::Serialize;
use strum::EnumIter;

use super::ChatMessage;

/// A point in a room's history: its epoch and the last seq given out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoomPoint {
    pub room: String,
    pub epoch: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, EnumIter)]
#[serde(tag = "type")]
pub enum Frame {
    /// The socket is authenticated and about to join `rooms`.
    #[serde(rename = "welcome", rename_all = "camelCase")]
    Welcome {
        protocol: &'static str,
        connection_id: u64,
        user_id: i64,
        /// `null` for an operator who belongs to no church.
        church_id: Option<i64>,
        rooms: Vec<String>,
        expires_at: i64,
    },
    /// A fresh token was accepted for the same user.
    #[serde(rename = "auth:ok", rename_all = "camelCase")]
    AuthOk { expires_at: i64 },
    #[serde(rename = "pong")]
    Pong { id: Option<serde_json::Value> },
    /// A client frame was refused.
    #[serde(rename = "error")]
    Error { code: &'static str, message: String },
    /// The socket joined a room; the next event of the room is `seq + 1`.
    #[serde(rename = "joined")]
    Joined(RoomPoint),
    /// The socket resumed a room: exactly `missed` events after `from` follow.
    #[serde(rename = "resumed")]
    Resumed {
        #[serde(flatten)]
        at: RoomPoint,
        from: u64,
        missed: usize,
    },
    /// What the socket missed is gone: refetch, and continue from this point.
    #[serde(rename = "reset")]
    Reset(RoomPoint),
    /// Everyone typing in the room now.
    #[serde(rename = "typing", rename_all = "camelCase")]
    Typing { room: String, user_ids: Vec<i64> },
    /// A chat message was stored (or had been, with this `clientId`: `duplicate`).
    #[serde(rename = "chat:ack", rename_all = "camelCase")]
    ChatAck {
        client_id: String,
        id: i64,
        room: String,
        created_at: DateTime<Utc>,
        duplicate: bool,
    },
    /// Stored chat messages after a point, oldest first.
    #[serde(rename = "chat:history")]
    ChatHistory {
        room: String,
        messages: Vec<ChatMessage>,
        more: bool,
    },
}
