//! Serving connections: the accept loop, done here rather than by `warp::serve` so that each
//! connection's stream is a [`Wire`] the gateway can hand to its rooms (warp keeps the stream
//! it accepts to itself, behind the upgrade). Each request carries its [`Connection`]; hyper
//! speaks HTTP/1 and HTTP/2 on it as warp's own server does, and shutdown is graceful: the
//! listener closes, and requests in flight are answered.

pub mod listener;
pub mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;
use warp::http::Request;
use warp::reply::Response;

pub use wire::Wire;
use wire::WireIo;

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
pub async fn serve<S>(listener: TcpListener, service: S, shutdown: impl Future<Output = ()>)
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let wire = Wire::new(tcp);
        let connection = Connection {
            peer,
            wire: Arc::clone(&wire),
        };
        let service = service.clone();
        let requests = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(connection.clone());
            let mut service = service.clone();
            async move { service.call(request).await }
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let serving =
                builder.serve_connection_with_upgrades(TokioIo::new(WireIo::new(wire)), requests);
            if let Err(error) = watcher.watch(serving).await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
