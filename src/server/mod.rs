//! Serving connections: the accept loop, done here rather than by `warp::serve` so that each
//! connection's stream is a [`Wire`] the gateway can hand to its rooms (warp keeps the stream
//! it accepts to itself, behind the upgrade). Each request carries its [`Connection`]; hyper
//! speaks HTTP/1 and HTTP/2 on it as warp's own server does, and shutdown is graceful: the
//! listener closes, and requests in flight are answered.

pub mod listener;
pub mod pending;
pub mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;
use warp::http::Request;
use warp::reply::Response;

use pending::PendingByAddress;
pub use wire::Wire;
use wire::WireIo;

/// What a connection may take before it has been useful.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection's first request head must be whole within this (and every later one, on
    /// HTTP/1); a WebSocket's handshake is such a request.
    pub head_timeout: Duration,
    /// Connections one client address may hold open before their first request.
    pub pending_per_address: usize,
}

/// How often a failing accept is logged at most (with how many failed meanwhile).
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// What a request knows of the connection it came on.
#[derive(Clone)]
pub struct Connection {
    pub peer: SocketAddr,
    pub wire: Arc<Wire>,
}

/// How long accepting pauses after it failed (out of file descriptors, say), so that the
/// loop does not spin while nothing can be accepted.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `service` (a warp filter, through `warp::service`) on every connection `listener`
/// accepts, until `shutdown` completes; then waits for the connections' requests in flight.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let pending_by_address = Arc::new(PendingByAddress::default());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut accept_failures = AcceptFailures::default();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failures.failed(&error);
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(pending) = pending_by_address.admit(peer.ip(), limits.pending_per_address) else {
            // Closed at once: this address holds too many connections that never asked anything.
            drop(tcp);
            continue;
        };
        let pending = Arc::new(pending);
        let wire = Wire::new(tcp);
        let connection = Connection {
            peer,
            wire: Arc::clone(&wire),
        };
        let service = service.clone();
        let first_request = Arc::clone(&pending);
        let requests = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            first_request.finish();
            request.extensions_mut().insert(connection.clone());
            let mut service = service.clone();
            async move { service.call(request).await }
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout);
            let serving =
                builder.serve_connection_with_upgrades(TokioIo::new(WireIo::new(wire)), requests);
            let serving = watcher.watch(serving);
            // Telling HTTP/1 from HTTP/2 waits for the first bytes with no deadline of its
            // own: a connection that sends nothing is closed when its first head is late.
            let first_head_late = async {
                tokio::time::sleep(limits.head_timeout).await;
                if pending.finished() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                served = serving => if let Err(error) = served {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                },
                () = first_head_late => tracing::debug!(%peer, "no request in time; closed"),
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Logs failing accepts (out of file descriptors, say) once per interval, not once each.
#[derive(Default)]
struct AcceptFailures {
    logged: Option<tokio::time::Instant>,
    since: u64,
}

impl AcceptFailures {
    fn failed(&mut self, error: &std::io::Error) {
        self.since += 1;
        if self
            .logged
            .is_some_and(|at| at.elapsed() < ACCEPT_LOG_EVERY)
        {
            return;
        }
        tracing::warn!(%error, failures = self.since, "accepting connections failed");
        self.logged = Some(tokio::time::Instant::now());
        self.since = 0;
    }
}
