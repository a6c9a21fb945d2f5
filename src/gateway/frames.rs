//! What a client may send, and how much of it. Every text frame must be one JSON object with a
//! known `type`; anything else earns an `error` frame. Each socket has a token bucket of
//! frames; bad or excess frames are strikes, and a socket with too many strikes in a row is
//! closed (policy violation).

use serde::Deserialize;
use tokio::time::Instant;

use super::resume::ResumeItem;

/// Frames a client sends. Unknown fields are refused so that typos show.
#[derive(Debug, Deserialize)]
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

/// Why a frame was refused: the `code` and `message` of the `error` frame.
#[derive(Debug, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

impl FrameError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn to_frame(&self) -> String {
        serde_json::json!({"type": "error", "code": self.code, "message": self.message}).to_string()
    }
}

pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| FrameError::new("invalid_json", format!("not JSON: {e}")))?;
    let Some(kind) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
    else {
        return Err(FrameError::new(
            "invalid_frame",
            "a frame is a JSON object with a string \"type\"",
        ));
    };
    const KNOWN: [&str; 10] = [
        "auth",
        "resume",
        "ping",
        "chat:join",
        "chat:leave",
        "chat:send",
        "chat:read",
        "chat:history",
        "typing:start",
        "typing:stop",
    ];
    if !KNOWN.contains(&kind.as_str()) {
        return Err(FrameError::new(
            "unknown_type",
            format!("unknown frame type {kind:?}"),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| FrameError::new("invalid_frame", format!("{kind}: {e}")))
}

/// Strikes in a row after which a socket is closed.
pub const MAX_STRIKES: u32 = 10;

/// A socket's allowance of client frames, and its record of bad ones.
pub struct FrameBudget {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
    strikes: u32,
}

impl FrameBudget {
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            refilled: Instant::now(),
            strikes: 0,
        }
    }

    /// Takes one frame's allowance; `false` when the socket is sending too fast.
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts a bad or excess frame; `true` when the socket has had too many in a row.
    pub fn strike(&mut self) -> bool {
        self.strikes += 1;
        self.strikes >= MAX_STRIKES
    }

    /// A good frame clears the record.
    pub fn forgive(&mut self) {
        self.strikes = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn frames_are_parsed_or_refused_with_a_code() {
        assert!(matches!(
            parse(r#"{"type":"auth","token":"t"}"#),
            Ok(ClientFrame::Auth { .. })
        ));
        assert!(matches!(
            parse(r#"{"type":"resume","rooms":[{"room":"church:1","epoch":"e1","seq":3}]}"#),
            Ok(ClientFrame::Resume { rooms }) if rooms.len() == 1
        ));
        assert_eq!(parse("{").unwrap_err().code, "invalid_json");
        assert_eq!(parse("[1]").unwrap_err().code, "invalid_frame");
        assert_eq!(
            parse(r#"{"type":"dance"}"#).unwrap_err().code,
            "unknown_type"
        );
        assert_eq!(
            parse(r#"{"type":"auth"}"#).unwrap_err().code,
            "invalid_frame"
        );
        assert_eq!(
            parse(r#"{"type":"ping","extra":1}"#).unwrap_err().code,
            "invalid_frame"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_allows_a_burst_then_the_rate() {
        let mut budget = FrameBudget::new(10.0, 3.0);
        assert!(budget.take() && budget.take() && budget.take());
        assert!(!budget.take());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(budget.take());
        assert!(!budget.take());
    }

    #[test]
    fn strikes_in_a_row_close_and_a_good_frame_forgives() {
        let mut budget = FrameBudget::new(1.0, 1.0);
        for _ in 0..MAX_STRIKES - 1 {
            assert!(!budget.strike());
        }
        budget.forgive();
        for _ in 0..MAX_STRIKES - 1 {
            assert!(!budget.strike());
        }
        assert!(budget.strike());
    }
}
