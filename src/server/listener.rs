//! The server's listening socket, made here rather than by `TcpListener::bind` so that every
//! connection it accepts has Nagle's algorithm off (`TCP_NODELAY`, which Linux copies from the
//! listener to each accepted socket; warp accepts connections itself and gives no hook to set
//! it on each one). With Nagle on, a socket that writes an event while its previous one is not
//! yet acknowledged holds the new one back until the client's delayed acknowledgement comes,
//! up to 40 ms later: the live status feed would stall exactly when it is busiest.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Pending connections the kernel holds before they are accepted (as `TcpListener::bind`).
const BACKLOG: u32 = 1024;

pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does: a restarted server can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr);
        let (accepted, _) = tokio::join!(listener.accept(), client);
        let (stream, _) = accepted.unwrap();
        assert!(
            stream.nodelay().unwrap(),
            "TCP_NODELAY is inherited from the listener"
        );
    }
}
