//! What every route and socket may use: the pools, the keys, the tree, the limits. It holds no
//! business state: that lives in the database and the tree.

use std::sync::Arc;

use belfry_actors::ActorSystem;
use tokio::sync::watch;
use warp::Filter;

use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::config::GatewayConfig;
use crate::db::DbPool;
use crate::limits::Limits;
use crate::telemetry::Metrics;
use crate::telnyx::signature::WebhookVerifier;
use ipnet::IpNet;

/// What every route may use. Holds no business state: that lives in the database and the tree.
///
/// One allocation shared by every request: warp hands each route its own copy, and copying
/// the fields one by one (pools, keys, the tree, …) was a measurable share of a cheap
/// request's time.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub pool: DbPool,
    /// Connections for messages' running totals only (see `db::totals`).
    pub counters: DbPool,
    /// Keys, accounts' standing, open sockets.
    pub auth: Authenticator,
    pub system: Arc<ActorSystem>,
    pub verifier: WebhookVerifier,
    /// The platform's shared sender number (`TELNYX_FROM_NUMBER`): churches without their own
    /// send from it, and replies to it are routed by who last messaged the phone.
    pub platform_number: String,
    pub gateway: Arc<GatewayConfig>,
    pub limits: Arc<Limits>,
    /// Largest request body a route reads.
    pub max_body: u64,
    /// Flips to `true` when the server shuts down, so sockets close themselves.
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Arc<Metrics>,
    /// Who may read `/metrics` (`BELFRY_METRICS_ALLOW`).
    pub metrics_allow: Arc<[IpNet]>,
    /// The time quiet hours are decided by.
    pub clock: SharedClock,
    /// The emails kept instead of sent, when there is no SMTP server (`GET /api/admin/mail`).
    pub sandbox_mail: Option<Arc<crate::adapters::sandbox_mailer::SandboxMailer>>,
    /// This node among those sharing the database.
    pub node: crate::db::nodes::NodeLease,
    /// The operators' breaker orders this node applied.
    pub breaker_orders: Arc<crate::breaker_orders::BreakerOrders>,
}

/// Hands every request the shared state.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}
