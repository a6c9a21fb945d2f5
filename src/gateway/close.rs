//! The close codes the server sends (docs/protocol.md), and which a broken read earns.

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError;

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL_ERROR: u16 = 1002;
pub const INVALID_DATA: u16 = 1007;
pub const POLICY: u16 = 1008;
pub const TOO_BIG: u16 = 1009;
/// RFC 6455's "try again later".
pub const TRY_AGAIN_LATER: u16 = 1013;
/// The client reads too slowly for its rooms: it may reconnect and resume.
pub const TOO_SLOW: u16 = TRY_AGAIN_LATER;
pub const IDLE: u16 = 4000;
pub const AUTH_TIMEOUT: u16 = 4001;
pub const AUTH_FAILED: u16 = 4003;
pub const TOKEN_EXPIRED: u16 = 4004;
pub const RATE_LIMITED: u16 = 4029;

/// How the server closes a socket whose client frame could not be read, as RFC 6455 §7.4.1
/// asks (a close, not a silent drop); `None` when the client is gone and nobody could hear it.
pub fn after_read_error(error: &WsError) -> Option<(u16, &'static str)> {
    match error {
        WsError::Capacity(_) => Some((TOO_BIG, "frame over 64 KiB")),
        WsError::Utf8(_) => Some((INVALID_DATA, "text must be UTF-8")),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(_) => Some((PROTOCOL_ERROR, "protocol error")),
        _ => None,
    }
}
