//! The WebSocket handshake, done here rather than by `warp::ws()`: warp gives every connection
//! tungstenite's default buffers (a 128 KiB read buffer each, ≈138 KB per idle socket), while
//! a gateway holding tens of thousands of mostly idle sockets wants small ones. The request
//! also brings its connection's [`Wire`], through which the socket's rooms write to it.

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::error::ApiError;
use crate::server::{Connection, Wire};

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The largest client frame or message accepted (64 KiB).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Small buffers: reads go in 512-byte chunks (client frames are small; a larger one is
/// gathered over several reads). The session's own frames are written as soon as they are
/// made (no write buffer): rooms write into the same stream, and a frame held back here would
/// be overtaken by theirs. What the kernel does not take at once waits in the `Wire`.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

/// A request asking to become a WebSocket: its key, and the means to take over the connection.
pub struct UpgradeRequest {
    key: String,
    on_upgrade: OnUpgrade,
    wire: Arc<Wire>,
}

/// Matches a GET that asks for a WebSocket upgrade; anything else is a `400`.
pub fn upgrade_request() -> impl Filter<Extract = (UpgradeRequest,), Error = Rejection> + Clone {
    warp::header::optional::<String>("connection")
        .and(warp::header::optional::<String>("upgrade"))
        .and(warp::header::optional::<String>("sec-websocket-version"))
        .and(warp::header::optional::<String>("sec-websocket-key"))
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<Connection>())
        .and_then(
            |connection: Option<String>,
             upgrade: Option<String>,
             version: Option<String>,
             key: Option<String>,
             on_upgrade: Option<OnUpgrade>,
             served: Option<Connection>| async move {
                let asks_upgrade = connection.is_some_and(|c| {
                    c.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                }) && upgrade
                    .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
                let not_websocket = || {
                    warp::reject::custom(ApiError::bad_request(
                        "not_websocket",
                        "this route only speaks WebSocket (version 13)",
                    ))
                };
                if !asks_upgrade || version.as_deref() != Some("13") {
                    return Err(not_websocket());
                }
                match (key, on_upgrade, served) {
                    (Some(key), Some(on_upgrade), Some(served)) => Ok(UpgradeRequest {
                        key,
                        on_upgrade,
                        wire: served.wire,
                    }),
                    _ => Err(not_websocket()),
                }
            },
        )
}

impl UpgradeRequest {
    /// Answers `101 Switching Protocols` and runs `session` on the socket (and the wire its
    /// rooms write into) once the connection is handed over.
    pub fn accept<F, Fut>(self, protocol: Option<&'static str>, session: F) -> Response
    where
        F: FnOnce(Socket, Arc<Wire>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let UpgradeRequest {
            key,
            on_upgrade,
            wire,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(socket_config()),
                    )
                    .await;
                    session(socket, wire).await;
                }
                Err(err) => tracing::debug!(%err, "websocket upgrade failed"),
            }
        });
        let mut response = Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(protocol) = protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(protocol),
            );
        }
        response
    }
}
