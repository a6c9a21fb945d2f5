//! Serving connections: the accept loop, done here rather than by `warp::serve` so that each
//! connection's stream is a [`Wire`] the gateway can hand to its rooms (warp keeps the stream
//! it accepts to itself, behind the upgrade). Each request carries its [`Connection`]; hyper
//! speaks HTTP/1 and HTTP/2 on it as warp's own server does, and shutdown is graceful: the
//! listener closes, and requests in flight are answered.

pub mod capacity;
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

use capacity::{Admission, Capacity, OpenConnections};
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
    /// Connections open at most, and the places kept for essential routes.
    pub capacity: Capacity,
}

/// How long a connection admitted into the reserve has for its first request.
const RESERVE_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes a connection in the reserve may ask for (health, sign-in, admin): the assembly says.
pub type Essential = fn(&str) -> bool;

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
    essential: Essential,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let pending_by_address = Arc::new(PendingByAddress::default());
    let open = Arc::new(OpenConnections::default());
    let mut refusals = Refusals::default();
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
        let (slot, in_reserve) = match open.admit(limits.capacity) {
            Admission::Open(slot) => (slot, false),
            // Not for an address whose other connections are still silent: a flood from one
            // host must not take the places kept for everyone else.
            Admission::Reserve(slot) if pending_by_address.count(peer.ip()) <= 1 => (slot, true),
            Admission::Reserve(_) | Admission::Refused => {
                drop(tcp);
                refusals.refused(limits.capacity.max);
                continue;
            }
        };
        let head_timeout = if in_reserve {
            limits.head_timeout.min(RESERVE_HEAD_TIMEOUT)
        } else {
            limits.head_timeout
        };
        let pending = Arc::new(pending);
        let wire = Wire::holding(tcp, slot);
        let connection = Connection {
            peer,
            wire: Arc::clone(&wire),
        };
        let service = service.clone();
        let first_request = Arc::clone(&pending);
        let requests = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            first_request.finish();
            let busy = in_reserve && !essential(request.uri().path());
            request.extensions_mut().insert(connection.clone());
            let mut service = service.clone();
            async move {
                if busy {
                    return Ok(server_busy());
                }
                service.call(request).await
            }
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout);
            let serving =
                builder.serve_connection_with_upgrades(TokioIo::new(WireIo::new(wire)), requests);
            let serving = watcher.watch(serving);
            // Telling HTTP/1 from HTTP/2 waits for the first bytes with no deadline of its
            // own: a connection that sends nothing is closed when its first head is late.
            let first_head_late = async {
                tokio::time::sleep(head_timeout).await;
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

/// The answer to a connection in the reserve asking for what is not essential; it is closed.
fn server_busy() -> Response {
    use warp::Reply as _;
    use warp::http::{HeaderValue, StatusCode, header};
    crate::error::ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        "the server is at its connection limit; try again shortly",
    )
    .with_header(header::CONNECTION, HeaderValue::from_static("close"))
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    .into_response()
}

/// Logs connections refused at the cap once per interval, not once each.
#[derive(Default)]
struct Refusals {
    logged: Option<tokio::time::Instant>,
    since: u64,
}

impl Refusals {
    fn refused(&mut self, max: usize) {
        self.since += 1;
        if self
            .logged
            .is_some_and(|at| at.elapsed() < ACCEPT_LOG_EVERY)
        {
            return;
        }
        tracing::warn!(
            max,
            refused = self.since,
            "at the connection limit: new connections closed"
        );
        self.logged = Some(tokio::time::Instant::now());
        self.since = 0;
    }
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
