//! A frame encoded once, however many sockets receive it.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::{Frame, Numbered};

/// A JSON text frame, encoded once per publish however many sockets receive it. Its bytes are
/// shared, not copied, by every socket's queue and by the socket writes; a transport that
/// writes the same bytes to every receiver (a WebSocket server's frames are unmasked) also
/// builds its encoding once and keeps it beside the text ([`EncodedFrame::encoded`]).
#[derive(Debug, Clone)]
pub struct EncodedFrame(Arc<Encodings>);

#[derive(Debug)]
struct Encodings {
    text: Bytes,
    wire: OnceLock<Bytes>,
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Serialising the protocol's own types (strings, numbers, lists) cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

impl EncodedFrame {
    pub fn frame(frame: &Frame) -> Self {
        Self::from_text(json(frame))
    }

    pub fn numbered(event: &Numbered<'_>) -> Self {
        Self::from_text(json(event))
    }

    fn from_text(text: String) -> Self {
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

    /// The frame as the transport writes it, built by `encode` from the text the first time
    /// it is asked for. Every caller must pass the same encoding: there is one per frame.
    pub fn encoded(&self, encode: impl FnOnce(&[u8]) -> Bytes) -> &Bytes {
        self.0.wire.get_or_init(|| encode(&self.0.text))
    }
}
