//! Building and running the server: the pool, the actor tree, the carrier, the routes.
//! `Application::build` binds the port (0 for a random one) so tests can start many servers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use belfry_actors::ActorSystem;
use belfry_actors::ports::SmsGateway;
use tokio::sync::watch;
use warp::Filter;
use warp::http::Method;

use crate::adapters::delivery_store::PgDeliveryStore;
use crate::adapters::limit_history::PgLimitHistory;
use crate::adapters::measured_carrier::MeasuredCarrier;
use crate::adapters::notification_store::PgNotificationStore;
use crate::adapters::sandbox_mailer::SandboxMailer;
use crate::adapters::smtp_mailer::SmtpMailer;
use crate::auth::{Authenticator, JwtKeys};
use crate::breaker_orders::BreakerOrders;
use crate::clock::SharedClock;
use crate::config::{CarrierConfig, Config};
use crate::db;
use crate::db::nodes::NodeLease;
use crate::limits::Limits;
use crate::limits::shared::SharedLimits;
use crate::mail::Mailer;
use crate::mail::courier::Courier;
use crate::node_watch;
use crate::routes;
use crate::state::{AppState, Services};
use crate::telemetry::Metrics;
use crate::telnyx::client::TelnyxGateway;
use crate::telnyx::sandbox::{SandboxBehaviour, SandboxCarrier};
use crate::telnyx::signature::{WebhookSigner, WebhookVerifier};
use crate::text_courier::TextCourier;

/// Connections for running totals; each update holds them for microseconds.
const COUNTER_CONNECTIONS: usize = 4;

pub struct Application {
    addr: SocketAddr,
    public_url: String,
    state: AppState,
    listener: tokio::net::TcpListener,
    connections: crate::server::ConnectionLimits,
    cors_origins: Vec<String>,
    shutdown_tx: watch::Sender<bool>,
}

/// Stops a running server: closes sockets, stops accepting, stops the actor tree.
pub struct ShutdownHandle {
    tx: watch::Sender<bool>,
}

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.tx.send(true);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot start the actor tree: {0}")]
    Actors(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("BELFRY_REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Mail(#[from] crate::adapters::smtp_mailer::SmtpUrlError),
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, crate::clock::system()).await
    }

    /// The server with quiet hours decided by `clock` (see [`crate::clock`]).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let listener =
            crate::server::listener::bind(config.addr).map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let webhook_url = format!("{public_url}/webhooks/telnyx");

        let pool = db::connect_and_migrate(&config.database_url, config.db_pool_size).await?;
        let metrics = Metrics::new();
        let (gateway, verifier): (Arc<dyn SmsGateway>, WebhookVerifier) = match &config.carrier {
            CarrierConfig::Telnyx {
                api_key,
                base_url,
                public_key,
                from_number,
                messaging_profile_id,
            } => {
                let gateway = TelnyxGateway::new(
                    base_url,
                    api_key.clone(),
                    from_number.clone(),
                    messaging_profile_id.clone(),
                    webhook_url,
                    config.system.delivery.send_timeout,
                )
                .map_err(|e| StartError::Http(e.to_string()))?;
                let verifier = WebhookVerifier::from_base64(public_key, config.webhook_tolerance)
                    .map_err(|e| StartError::Http(e.to_string()))?;
                let gateway = MeasuredCarrier::wrap(Arc::new(gateway), "telnyx", &metrics);
                (gateway, verifier)
            }
            CarrierConfig::Sandbox {
                from_number,
                failure_rate,
                reply_rate,
                report_delay,
            } => {
                let signer = WebhookSigner::generate();
                let verifier =
                    WebhookVerifier::new(signer.verifying_key(), config.webhook_tolerance);
                tracing::info!("no TELNYX_API_KEY: using the sandbox carrier");
                let carrier = SandboxCarrier::new(
                    signer,
                    webhook_url,
                    SandboxBehaviour {
                        failure_rate: *failure_rate,
                        reply_rate: *reply_rate,
                        delay: *report_delay,
                        platform_number: from_number.clone(),
                    },
                );
                let carrier = MeasuredCarrier::wrap(Arc::new(carrier), "sandbox", &metrics);
                (carrier, verifier)
            }
        };
        let counters = db::totals::counters_pool(&config.database_url, COUNTER_CONNECTIONS)?;
        let repaired = db::totals::repair(&pool).await?;
        if repaired > 0 {
            tracing::warn!(
                messages = repaired,
                "recomputed message totals after an unclean stop"
            );
        }
        let node = NodeLease {
            id: node_watch::node_id(config.node.id.as_deref(), addr.port()).into(),
            lease: config.node.lease,
        };
        // Registered before the outbox claims anything under its id.
        node_watch::register(&pool, &node).await?;
        tracing::info!(node = %node.id, "node registered");
        let store = Arc::new(PgDeliveryStore::new(
            pool.clone(),
            counters.clone(),
            Arc::clone(metrics.throughput()),
            (Arc::clone(&clock), node.clone()),
        ));
        let history = Arc::new(PgLimitHistory::new(pool.clone()));
        let notifications = Arc::new(PgNotificationStore::new(
            pool.clone(),
            Arc::clone(&clock),
            Arc::clone(&metrics),
        ));
        // Notifications' texts go to the same carrier as members' messages.
        let text_gateway = Arc::clone(&gateway);
        let system = ActorSystem::start(
            config.system.clone(),
            gateway,
            store,
            history,
            notifications,
        )
        .await
        .map_err(|e| StartError::Actors(e.to_string()))?;
        // The outbox already skips held churches' rows; the holds stop what it claimed.
        crate::sending_watch::sync_once(system.directory(), &pool, clock.as_ref()).await?;
        let shared_limits = match &config.redis {
            Some(redis) => {
                tracing::info!(prefix = %redis.prefix, "limits are shared through Redis");
                Some(SharedLimits::new(&redis.url, &redis.prefix, redis.timeout)?)
            }
            None => None,
        };
        let limits = Arc::new(Limits::new(
            config.limits.clone(),
            Arc::clone(system.directory()),
            shared_limits,
        ));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        metrics.keep_up(shutdown_rx.clone());
        let auth = Authenticator::new(JwtKeys::new(config.jwt.clone()), pool.clone());
        let redis_state: node_watch::RedisState = {
            let limits = Arc::clone(&limits);
            Arc::new(move || match limits.shared_reachable() {
                None => "off",
                Some(true) => "up",
                Some(false) => "down",
            })
        };
        node_watch::spawn(
            pool.clone(),
            node.clone(),
            (
                auth.sockets.clone(),
                Arc::clone(system.directory()),
                redis_state,
            ),
            shutdown_rx.clone(),
        );

        crate::auth::standing_watch::spawn(auth.clone(), pool.clone(), shutdown_rx.clone());
        crate::sending_watch::spawn(
            Arc::clone(system.directory()),
            pool.clone(),
            Arc::clone(&clock),
            shutdown_rx.clone(),
        );
        crate::summary_watch::spawn(
            (
                pool.clone(),
                Arc::clone(system.directory()),
                Arc::clone(&metrics),
            ),
            Arc::clone(&clock),
            shutdown_rx.clone(),
        );
        let (mailer, sandbox_mail): (Arc<dyn Mailer>, _) = match &config.mail.smtp_url {
            Some(url) => (
                Arc::new(SmtpMailer::new(url, config.mail.from.clone())?),
                None,
            ),
            None => {
                tracing::info!("no BELFRY_SMTP_URL: emails are kept by the sandbox mailer");
                let sandbox = Arc::new(SandboxMailer::new(Arc::clone(&clock)));
                (Arc::clone(&sandbox) as Arc<dyn Mailer>, Some(sandbox))
            }
        };
        let courier = Courier {
            pool: pool.clone(),
            clock: Arc::clone(&clock),
            mailer,
            sockets: auth.sockets.clone(),
            metrics: Arc::clone(&metrics),
            console: public_url.clone(),
            fallback: chrono::TimeDelta::from_std(config.mail.fallback)
                .unwrap_or(chrono::TimeDelta::MAX),
        };
        crate::mail::courier::spawn(Arc::new(courier), config.mail.every, shutdown_rx.clone());
        // An operator's order given while this node was down holds here from the start.
        let breaker_orders = Arc::new(BreakerOrders::default());
        if let Err(e) = breaker_orders.sync(&pool, system.directory()).await {
            tracing::warn!(error = %e, "the operators' breaker orders are not applied yet");
        }
        crate::breaker_orders::spawn(
            Arc::clone(&breaker_orders),
            pool.clone(),
            Arc::clone(system.directory()),
            shutdown_rx.clone(),
        );
        let texts = TextCourier {
            pool: pool.clone(),
            clock: Arc::clone(&clock),
            gateway: text_gateway,
            directory: Arc::clone(system.directory()),
            metrics: Arc::clone(&metrics),
            send_timeout: config.system.delivery.send_timeout,
        };
        crate::text_courier::spawn(Arc::new(texts), config.mail.every, shutdown_rx.clone());
        let state = AppState::new(Services {
            pool,
            counters,
            auth,
            system: Arc::new(system),
            verifier,
            platform_number: config.carrier.from_number().to_owned(),
            gateway: Arc::new(config.gateway.clone()),
            limits: Arc::clone(&limits),
            max_body: config.max_body_bytes,
            shutdown: shutdown_rx,
            metrics,
            metrics_allow: config.metrics_allow.clone(),
            clock,
            sandbox_mail,
            node,
            breaker_orders,
        });
        Ok(Self {
            addr,
            public_url,
            state,
            listener,
            connections: config.connections,
            cors_origins: config.cors_origins.clone(),
            shutdown_tx,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            tx: self.shutdown_tx.clone(),
        }
    }

    /// Serves until the shutdown handle fires, then stops the tree.
    pub async fn run(self) {
        let answers = routes::all(self.state.clone())
            .recover(crate::error::recover)
            .unify();
        // Every route is built by now, so each request can be named by its route's template.
        let templates = Arc::new(crate::http::registry::Templates::now());
        let metrics = Arc::clone(&self.state.metrics);
        let routes = warp::any()
            .map(Instant::now)
            .and(warp::method())
            .and(warp::path::full())
            .and(answers)
            .map(
                move |arrived: Instant, method: Method, path: warp::path::FullPath, response| {
                    let response = crate::http::registry::with_allow(path.as_str(), response);
                    let route = templates.route_of(method.as_str(), path.as_str());
                    metrics.http_request(
                        method.as_str(),
                        route,
                        response.status().as_u16(),
                        arrived.elapsed(),
                    );
                    response
                },
            )
            .with(warp::trace::request());
        let mut signal = self.state.shutdown.clone();
        let graceful = async move {
            let _ = signal.wait_for(|stop| *stop).await;
        };
        let service = tower::ServiceBuilder::new()
            .option_layer(crate::http::cors::layer(&self.cors_origins))
            .service(warp::service(routes));
        crate::server::serve(
            self.listener,
            service,
            self.connections,
            routes::is_essential,
            graceful,
        )
        .await;
        self.state.system.shutdown().await;
        // Keeps the sender alive until here so receivers never see a closed channel early.
        drop(self.shutdown_tx);
    }
}
