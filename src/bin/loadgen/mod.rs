//! What the load generators share: a database of their own, and authenticated sockets opened
//! from a chosen loopback source address (so that many sockets do not run out of ports).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// `DATABASE_URL`'s server (default 127.0.0.1:5432) with a database named for this run.
pub fn database_url(prefix: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| belfry::config::DEFAULT_DATABASE_URL.into());
    let mut url = url::Url::parse(&base).expect("DATABASE_URL");
    url.set_path(&format!("/{prefix}_{}", std::process::id()));
    url.to_string()
}

/// Opens a socket from `source` authenticated with `token`, and reads its welcome frame.
pub async fn open_socket(
    server: SocketAddr,
    source: Ipv4Addr,
    token: &str,
) -> Result<WebSocketStream<TcpStream>, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .map_err(|e| e.to_string())?;
    let stream = socket.connect(server).await.map_err(|e| e.to_string())?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{server}/ws?token={token}"),
        stream,
        Some(config),
    )
    .await
    .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Ok(Some(Ok(_))) => Ok(ws),
        other => Err(format!("no welcome: {other:?}")),
    }
}
