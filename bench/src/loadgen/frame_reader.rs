//! A lean WebSocket client for the fan-out load generator: the handshake and the server's
//! frames are handled by hand, so that thousands of receiving sockets take as little as they can
//! of the cores they share with the server being measured. It only receives: it answers pings,
//! hands over text frames, and stops at a close.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// Bytes read at a time; the fan-out frames are a few hundred at most.
const READ_CHUNK: usize = 2048;

pub struct FrameReader {
    stream: TcpStream,
    /// Bytes read but not yet handed over: the start of a frame that has not fully arrived.
    pending: Vec<u8>,
}

impl FrameReader {
    /// Opens a socket from `source` authenticated with `token` and reads its welcome frame.
    pub async fn connect(
        server: SocketAddr,
        source: Ipv4Addr,
        token: &str,
    ) -> Result<Self, String> {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(IpAddr::V4(source), 0))
            .map_err(|e| e.to_string())?;
        let mut stream = socket.connect(server).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let request = format!(
            "GET /ws?token={token} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: YmVsZnJ5LWxvYWRnZW4tMQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::with_capacity(512);
        let end = loop {
            if stream
                .read_buf(&mut head)
                .await
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("closed during the handshake".into());
            }
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        if !head.starts_with(b"HTTP/1.1 101") {
            let status = String::from_utf8_lossy(&head[..end.min(64)]).into_owned();
            return Err(format!("not upgraded: {status}"));
        }
        let mut reader = Self {
            stream,
            pending: head.split_off(end),
        };
        // The welcome may have come with the handshake's answer.
        let mut welcomed = false;
        if !reader.take_frames(&mut |_| welcomed = true).await? {
            return Err("closed before the welcome".into());
        }
        while !welcomed {
            reader.read(&mut |_| welcomed = true).await?;
        }
        Ok(reader)
    }

    /// Waits for bytes, then calls `on_text` with every text frame now complete, in order.
    /// Fails once the server closes the socket.
    pub async fn read(&mut self, on_text: &mut impl FnMut(&[u8])) -> Result<(), String> {
        self.pending.reserve(READ_CHUNK);
        match self.stream.read_buf(&mut self.pending).await {
            Ok(0) => Err("closed".into()),
            Ok(_) => match self.take_frames(on_text).await? {
                true => Ok(()),
                false => Err("closed".into()),
            },
            Err(error) => Err(error.to_string()),
        }
    }

    /// Hands over the complete frames at the front of `pending`, leaving at most the start of
    /// one that has not fully arrived; false at a close frame.
    async fn take_frames(&mut self, on_text: &mut impl FnMut(&[u8])) -> Result<bool, String> {
        let mut at = 0;
        let mut open = true;
        while let Some((opcode, payload)) = frame_at(&self.pending[at..]) {
            let (start, end) = (at + payload.start, at + payload.end);
            match opcode {
                TEXT => on_text(&self.pending[start..end]),
                PING => {
                    let pong = pong(&self.pending[start..end]);
                    self.stream
                        .write_all(&pong)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                CLOSE => open = false,
                _ => {}
            }
            at = end;
        }
        self.pending.drain(..at);
        Ok(open)
    }
}

/// The opcode and payload of the server frame at the start of `bytes`, if all of it is there.
/// Server frames are never masked, and Belfry does not fragment them.
fn frame_at(bytes: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    let (length, header) = match second & 0x7F {
        126 => (
            u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        short => (short as usize, 2),
    };
    let end = header + length;
    (bytes.len() >= end).then_some((first & 0x0F, header..end))
}

/// A client's pong frame: masked, as every client frame must be.
fn pong(payload: &[u8]) -> Vec<u8> {
    let mask = [0x5A, 0xC3, 0x3C, 0xA5];
    let mut frame = vec![0x80 | PONG, 0x80 | payload.len().min(125) as u8];
    frame.extend_from_slice(&mask);
    let masked = payload.iter().take(125).enumerate();
    frame.extend(masked.map(|(i, byte)| byte ^ mask[i % 4]));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_only_once_complete() {
        let mut bytes = vec![0x81, 3, b'a', b'b', b'c', 0x89, 0];
        assert_eq!(frame_at(&bytes), Some((TEXT, 2..5)));
        assert_eq!(frame_at(&bytes[5..]), Some((PING, 2..2)));
        bytes.truncate(4);
        assert_eq!(frame_at(&bytes), None);
        let long = [&[0x81, 126, 0x01, 0x00][..], &[b'x'; 256]].concat();
        assert_eq!(frame_at(&long), Some((TEXT, 4..260)));
        assert_eq!(frame_at(&long[..200]), None);
    }

    #[test]
    fn a_pong_is_masked_and_carries_the_ping_payload() {
        let frame = pong(b"hi");
        assert_eq!(&frame[..2], &[0x8A, 0x82]);
        let mask = &frame[2..6];
        let payload: Vec<u8> = frame[6..].iter().zip(mask).map(|(b, m)| b ^ m).collect();
        assert_eq!(payload, b"hi");
    }
}
