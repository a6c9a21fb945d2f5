//! A socket's end of its rooms. A room writes each event's frame straight into the socket's
//! stream (see `server::wire`): the frame is built once per event, since a server's frames are
//! unmasked and so the same bytes for every socket, and written by the room without waking the
//! socket's task unless the kernel did not take it all.

use std::sync::{Arc, OnceLock};

use belfry_actors::ports::EventSink;
use belfry_actors::protocol::EncodedFrame;
use bytes::{BufMut, Bytes, BytesMut};
use metrics::Counter;

use crate::server::Wire;
use crate::telemetry::throughput::ChurchTally;

/// The rooms' way into one socket: at most `limit` frames wait for a client that reads slowly,
/// and a socket that needs more has fallen behind.
pub struct WireSink {
    wire: Arc<Wire>,
    limit: usize,
    /// Events written into this socket, counted with every other socket's.
    delivered: Counter,
    /// And with the other sockets of the same church, once the socket knows whose it is.
    church: OnceLock<Arc<ChurchTally>>,
}

impl WireSink {
    pub fn shared(wire: Arc<Wire>, limit: usize, delivered: Counter) -> Arc<Self> {
        Arc::new(Self {
            wire,
            limit,
            delivered,
            church: OnceLock::new(),
        })
    }

    /// Counts this socket's events in its church's throughput from now on (set once: a
    /// socket authenticates once).
    pub fn count_for(&self, church: Arc<ChurchTally>) {
        let _ = self.church.set(church);
    }

    fn counted(&self, taken: bool) -> bool {
        if taken {
            self.delivered.increment(1);
            if let Some(church) = self.church.get() {
                church.socket_event();
            }
        }
        taken
    }
}

impl EventSink for WireSink {
    fn deliver(&self, event: &EncodedFrame) -> bool {
        self.counted(
            self.wire
                .deliver(event.encoded(text_frame), self.limit, true),
        )
    }

    fn deliver_in_backlog(&self, event: &EncodedFrame) -> bool {
        self.counted(
            self.wire
                .deliver(event.encoded(text_frame), self.limit, false),
        )
    }
}

const FIN_TEXT: u8 = 0x81;

/// A final, unmasked WebSocket text frame (RFC 6455 §5.2) carrying `payload`.
fn text_frame(payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(payload.len() + 10);
    frame.put_u8(FIN_TEXT);
    match payload.len() {
        short @ 0..=125 => frame.put_u8(short as u8),
        medium @ 126..=0xFFFF => {
            frame.put_u8(126);
            frame.put_u16(medium as u16);
        }
        long => {
            frame.put_u8(127);
            frame.put_u64(long as u64);
        }
    }
    frame.put_slice(payload);
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;

    /// The frame tungstenite itself would write for the same text.
    fn tungstenite_frame(text: &str) -> Vec<u8> {
        let frame = Frame::message(
            text.as_bytes().to_vec(),
            tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
            ),
            true,
        );
        let mut bytes = Vec::new();
        frame.format(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn frames_of_every_length_class_match_tungstenite() {
        for len in [0, 1, 125, 126, 127, 1_000, 65_535, 65_536, 70_000] {
            let text = "x".repeat(len);
            assert_eq!(
                text_frame(text.as_bytes()).as_ref(),
                tungstenite_frame(&text).as_slice(),
                "length {len}"
            );
        }
    }
}
