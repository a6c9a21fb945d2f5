//! Reading what a client sends, and how much of it. Every text frame must be one JSON object
//! with a known `type` (the protocol's [`ClientFrame`]); anything else earns an `error` frame.
//! Each socket has a token bucket of frames; bad or excess frames are strikes, and a socket
//! with too many strikes in a row is closed (policy violation).

use std::sync::LazyLock;

use belfry_actors::protocol::{ClientFrame, Frame};
use tokio::time::Instant;

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

    pub fn to_frame(&self) -> Frame {
        Frame::Error {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// The `type` of every frame a client may send.
static KNOWN: LazyLock<Vec<String>> = LazyLock::new(belfry_actors::protocol::client_frame_types);

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
    if !KNOWN.contains(&kind) {
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
