//! All configuration, read from the environment in one place. A bad value stops start-up with
//! one line naming the variable.

mod delivery;
mod mail;
mod source;

pub use mail::MailConfig;

pub use source::{ConfigError, Env, Source, cidrs};
use source::{err, millis, parsed};

use std::net::SocketAddr;
use std::sync::Arc;

use ipnet::IpNet;

use crate::server::ConnectionLimits;
use crate::server::capacity::Capacity;
use std::time::Duration;

use belfry_actors::SystemConfig;
use belfry_actors::rooms::HistoryLimits;
use jsonwebtoken::Algorithm;

/// The WebSocket gateway's limits (see docs/protocol.md).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Exact origins a browser may connect from; empty accepts any.
    pub allowed_origins: Vec<String>,
    /// How long a connection without a token has to send its `auth` frame.
    pub auth_timeout: Duration,
    pub ping_interval: Duration,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// Frames a socket may have waiting before it counts as too slow.
    pub outbound_queue: usize,
    /// Client frames per second a socket may send, and the burst it may save up.
    pub frames_per_second: f64,
    pub frame_burst: f64,
    /// How long someone mentioned in a chat message has to read it before they are notified
    /// (`BELFRY_MENTION_AFTER_MS`).
    pub mention_after: Duration,
}

#[derive(Clone)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub algorithm: Algorithm,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

#[derive(Clone, Debug)]
pub enum CarrierConfig {
    Telnyx {
        api_key: String,
        base_url: String,
        /// Base64 of the account's 32-byte Ed25519 public key.
        public_key: String,
        from_number: String,
        messaging_profile_id: Option<String>,
    },
    /// No Telnyx account: the in-process sandbox carrier accepts sends and reports back.
    Sandbox {
        from_number: String,
        failure_rate: f64,
        /// Share of delivered texts the sandbox's members answer.
        reply_rate: f64,
        report_delay: Duration,
    },
}

impl CarrierConfig {
    /// The platform's shared sender number.
    pub fn from_number(&self) -> &str {
        match self {
            CarrierConfig::Telnyx { from_number, .. }
            | CarrierConfig::Sandbox { from_number, .. } => from_number,
        }
    }
}

#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub db_pool_size: usize,
    /// Where Telnyx reaches this server; `None` means the bound address.
    pub public_url: Option<String>,
    pub jwt: JwtConfig,
    pub carrier: CarrierConfig,
    pub webhook_tolerance: Duration,
    /// Largest request body the API reads (`BELFRY_MAX_BODY_BYTES`).
    pub max_body_bytes: u64,
    /// Deadlines and caps for connections that have not made a request yet.
    pub connections: ConnectionLimits,
    pub gateway: GatewayConfig,
    pub limits: crate::limits::LimitsConfig,
    pub system: SystemConfig,
    /// Addresses that may read `/metrics` (`BELFRY_METRICS_ALLOW`; loopback unless set).
    pub metrics_allow: Arc<[IpNet]>,
    /// Web apps on these origins may call the API from the browser (`BELFRY_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
    pub mail: MailConfig,
    pub node: NodeConfig,
    /// `BELFRY_REDIS_URL`: Redis joins the nodes (shared limits); `None`: this node alone.
    pub redis: Option<RedisConfig>,
}

#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://host:port/db` or `rediss://…`.
    pub url: String,
    /// `BELFRY_REDIS_PREFIX` (`belfry:`), put before every key.
    pub prefix: String,
    /// `BELFRY_REDIS_TIMEOUT_MS` (50): longer than this, a check counts on this node instead.
    pub timeout: Duration,
}

/// This process among the nodes sharing the database.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `BELFRY_NODE_ID`; unset: `{host name}:{port}` once the port is bound. Unique per node:
    /// a node that starts again under its id takes over what its previous run left at once.
    pub id: Option<String>,
    /// `BELFRY_NODE_LEASE_MS`: a node whose heartbeat is older than this is dead, and what it
    /// claimed from the outbox is recovered by the others.
    pub lease: Duration,
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/belfry";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env, None)
    }

    /// `fallback_jwt_secret` is used when `BELFRY_JWT_SECRET` is unset (the demo); otherwise
    /// the secret is required.
    pub fn from_source(
        src: &dyn Source,
        fallback_jwt_secret: Option<Vec<u8>>,
    ) -> Result<Self, ConfigError> {
        let addr: SocketAddr = parsed(src, "BELFRY_ADDR", ([127, 0, 0, 1], 8080).into())?;
        let database_url = src
            .get("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        url::Url::parse(&database_url).map_err(|e| err("DATABASE_URL", e.to_string()))?;
        let public_url = match src.get("BELFRY_PUBLIC_URL") {
            Some(raw) => {
                let trimmed = raw.trim_end_matches('/').to_owned();
                url::Url::parse(&trimmed).map_err(|e| err("BELFRY_PUBLIC_URL", e.to_string()))?;
                Some(trimmed)
            }
            None => None,
        };

        let jwt = Self::jwt(src, fallback_jwt_secret)?;
        let node = NodeConfig {
            id: src
                .get("BELFRY_NODE_ID")
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty()),
            lease: millis(src, "BELFRY_NODE_LEASE_MS", 15_000)?,
        };
        if node.lease < Duration::from_millis(500) {
            return Err(err("BELFRY_NODE_LEASE_MS", "must be at least 500"));
        }
        if node.id.as_ref().is_some_and(|id| id.len() > 200) {
            return Err(err("BELFRY_NODE_ID", "must be at most 200 bytes"));
        }
        let redis = match src.get("BELFRY_REDIS_URL").filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(url) => {
                let url = url.trim().to_owned();
                redis::Client::open(url.as_str())
                    .map_err(|e| err("BELFRY_REDIS_URL", e.to_string()))?;
                Some(RedisConfig {
                    url,
                    prefix: src
                        .get("BELFRY_REDIS_PREFIX")
                        .unwrap_or_else(|| "belfry:".to_owned()),
                    timeout: millis(src, "BELFRY_REDIS_TIMEOUT_MS", 50)?
                        .max(Duration::from_millis(1)),
                })
            }
        };
        let carrier = delivery::carrier(src)?;
        let delivery = delivery::delivery(src)?;
        Ok(Self {
            addr,
            database_url,
            db_pool_size: parsed(src, "BELFRY_DB_POOL_SIZE", 16)?,
            public_url,
            jwt,
            carrier,
            webhook_tolerance: Duration::from_secs(parsed(
                src,
                "BELFRY_WEBHOOK_TOLERANCE_SECS",
                300,
            )?),
            max_body_bytes: Self::max_body_bytes(src)?,
            connections: Self::connections(src)?,
            gateway: Self::gateway(src)?,
            limits: crate::limits::LimitsConfig::from_source(src)?,
            system: SystemConfig {
                delivery,
                room_history: HistoryLimits {
                    max_events: parsed(src, "BELFRY_WS_HISTORY_SIZE", 1000)?,
                    max_age: Duration::from_secs(parsed(src, "BELFRY_WS_HISTORY_SECS", 300)?),
                },
                presence_grace: millis(src, "BELFRY_PRESENCE_GRACE_MS", 5000)?,
            },
            metrics_allow: Self::metrics_allow(src)?,
            cors_origins: Self::cors_origins(src)?,
            mail: mail::mail(src)?,
            node,
            redis,
        })
    }

    fn cors_origins(src: &dyn Source) -> Result<Vec<String>, ConfigError> {
        let var = "BELFRY_CORS_ORIGINS";
        src.get(var)
            .unwrap_or_default()
            .split(',')
            .filter(|o| !o.trim().is_empty())
            .map(|o| crate::http::cors::parse_origin(o).map_err(|problem| err(var, problem)))
            .collect()
    }

    fn connections(src: &dyn Source) -> Result<ConnectionLimits, ConfigError> {
        let head_timeout = millis(src, "BELFRY_HTTP_HEAD_TIMEOUT_MS", 10_000)?;
        if head_timeout.is_zero() {
            return Err(err("BELFRY_HTTP_HEAD_TIMEOUT_MS", "must be more than 0"));
        }
        let pending_per_address = parsed(src, "BELFRY_MAX_PENDING_PER_ADDRESS", 256)?;
        if pending_per_address == 0 {
            return Err(err("BELFRY_MAX_PENDING_PER_ADDRESS", "must be at least 1"));
        }
        let derived = Capacity::below_descriptor_limit();
        let max = parsed(src, "BELFRY_MAX_CONNECTIONS", derived.max)?;
        if max < 2 {
            return Err(err("BELFRY_MAX_CONNECTIONS", "must be at least 2"));
        }
        let reserve_default = if max == derived.max {
            derived.reserve
        } else {
            (max / 20).max(1)
        };
        let reserve = parsed(src, "BELFRY_CONNECTION_RESERVE", reserve_default)?;
        if reserve >= max {
            return Err(err(
                "BELFRY_CONNECTION_RESERVE",
                "must be less than BELFRY_MAX_CONNECTIONS",
            ));
        }
        Ok(ConnectionLimits {
            head_timeout,
            pending_per_address,
            capacity: Capacity { max, reserve },
        })
    }

    fn metrics_allow(src: &dyn Source) -> Result<Arc<[IpNet]>, ConfigError> {
        let listed = cidrs(src, "BELFRY_METRICS_ALLOW")?;
        if listed.is_empty() {
            let loopback = ["127.0.0.0/8", "::1/128"].map(|net| net.parse().expect("a CIDR block"));
            return Ok(Arc::from(loopback));
        }
        Ok(listed.into())
    }

    fn max_body_bytes(src: &dyn Source) -> Result<u64, ConfigError> {
        let var = "BELFRY_MAX_BODY_BYTES";
        let bytes = parsed(src, var, crate::http::body::DEFAULT_MAX_BODY)?;
        // Below this not even a login fits.
        if bytes < 1024 {
            return Err(err(var, "must be at least 1024"));
        }
        Ok(bytes)
    }

    fn gateway(src: &dyn Source) -> Result<GatewayConfig, ConfigError> {
        let allowed_origins = src
            .get("BELFRY_WS_ALLOWED_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let frames_per_second: f64 = parsed(src, "BELFRY_WS_FRAMES_PER_SEC", 20.0)?;
        if frames_per_second <= 0.0 {
            return Err(err("BELFRY_WS_FRAMES_PER_SEC", "must be above 0"));
        }
        Ok(GatewayConfig {
            allowed_origins,
            auth_timeout: millis(src, "BELFRY_WS_AUTH_TIMEOUT_MS", 5000)?,
            ping_interval: millis(src, "BELFRY_WS_PING_MS", 20_000)?.max(Duration::from_millis(10)),
            idle_timeout: millis(src, "BELFRY_WS_IDLE_TIMEOUT_MS", 60_000)?,
            outbound_queue: parsed(src, "BELFRY_WS_QUEUE", 1024)?.max(1),
            frames_per_second,
            frame_burst: parsed::<f64>(src, "BELFRY_WS_FRAME_BURST", 40.0)?.max(1.0),
            mention_after: millis(src, "BELFRY_MENTION_AFTER_MS", 15_000)?,
        })
    }

    fn jwt(src: &dyn Source, fallback: Option<Vec<u8>>) -> Result<JwtConfig, ConfigError> {
        let secret = match (src.get("BELFRY_JWT_SECRET"), fallback) {
            (Some(s), _) => s.into_bytes(),
            (None, Some(f)) => f,
            (None, None) => return Err(err("BELFRY_JWT_SECRET", "is required")),
        };
        if secret.len() < 32 {
            return Err(err("BELFRY_JWT_SECRET", "must be at least 32 bytes"));
        }
        let algorithm = match src.get("BELFRY_JWT_ALGORITHM").as_deref() {
            None | Some("HS256") => Algorithm::HS256,
            Some("HS384") => Algorithm::HS384,
            Some("HS512") => Algorithm::HS512,
            Some(other) => {
                return Err(err(
                    "BELFRY_JWT_ALGORITHM",
                    format!("{other:?} is not one of HS256, HS384, HS512"),
                ));
            }
        };
        Ok(JwtConfig {
            secret,
            algorithm,
            issuer: src
                .get("BELFRY_JWT_ISSUER")
                .unwrap_or_else(|| "belfry".to_owned()),
            audience: src
                .get("BELFRY_JWT_AUDIENCE")
                .unwrap_or_else(|| "belfry-api".to_owned()),
            ttl: Duration::from_secs(parsed(src, "BELFRY_JWT_TTL_SECS", 12 * 3600)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_source(&move |name: &str| map.get(name).cloned(), None)
    }

    const SECRET: (&str, &str) = ("BELFRY_JWT_SECRET", "0123456789abcdef0123456789abcdef");

    #[test]
    fn defaults_to_sandbox_and_local_database() {
        let c = config(&[SECRET]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert!(matches!(c.carrier, CarrierConfig::Sandbox { .. }));
        assert_eq!(c.system.delivery.max_attempts, 3);
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&[]).err().unwrap();
        assert_eq!(e.var, "BELFRY_JWT_SECRET");
        let e = config(&[SECRET, ("BELFRY_ADDR", "nowhere")]).err().unwrap();
        assert_eq!(e.var, "BELFRY_ADDR");
        let e = config(&[SECRET, ("TELNYX_API_KEY", "KEY")]).err().unwrap();
        assert_eq!(e.var, "TELNYX_PUBLIC_KEY");
        let e = config(&[SECRET, ("BELFRY_JWT_ALGORITHM", "none")])
            .err()
            .unwrap();
        assert_eq!(e.var, "BELFRY_JWT_ALGORITHM");
        assert!(
            e.to_string()
                .starts_with("configuration error: BELFRY_JWT_ALGORITHM")
        );
    }
}
