//! Frames a client may send. Unknown fields are refused so that typos show.

use serde::{Deserialize, Serialize};
use strum::EnumIter;

/// One room's resume point in an `auth` or `resume` frame.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeItem {
    pub room: String,
    pub epoch: String,
    pub seq: u64,
}

#[derive(Debug, Deserialize, Serialize, EnumIter)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum ClientFrame {
    /// Authenticates a connection opened without a token, or replaces the token before it
    /// expires. May carry resume points for the rooms joined on authentication.
    #[serde(rename = "auth")]
    Auth {
        token: String,
        #[serde(default)]
        resume: Vec<ResumeItem>,
    },
    /// Asks for what was missed in rooms the socket is in.
    #[serde(rename = "resume")]
    Resume { rooms: Vec<ResumeItem> },
    /// Joins a chat channel the user is a member of.
    #[serde(rename = "chat:join")]
    ChatJoin { room: String },
    /// Leaves a chat channel.
    #[serde(rename = "chat:leave")]
    ChatLeave { room: String },
    /// Sends a chat message; acknowledged with `chat:ack` carrying `clientId`.
    #[serde(rename = "chat:send", rename_all = "camelCase")]
    ChatSend {
        room: String,
        body: String,
        client_id: String,
        /// Users the message mentions: each is told if they do not read it soon.
        #[serde(default)]
        mentions: Vec<i64>,
    },
    /// Read everything up to `messageId`.
    #[serde(rename = "chat:read", rename_all = "camelCase")]
    ChatRead { room: String, message_id: i64 },
    /// Asks for the stored messages of a room after `after`, oldest first: what a client
    /// that was `reset` missed beyond the room's history.
    #[serde(rename = "chat:history")]
    ChatHistory {
        room: String,
        after: i64,
        #[serde(default)]
        limit: Option<i64>,
    },
    #[serde(rename = "typing:start")]
    TypingStart { room: String },
    #[serde(rename = "typing:stop")]
    TypingStop { room: String },
    /// An application-level ping, for clients that cannot see WebSocket pings.
    #[serde(rename = "ping")]
    Ping {
        #[serde(default)]
        id: Option<serde_json::Value>,
    },
}
