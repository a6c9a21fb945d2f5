//! All configuration, read from the environment in one place. A bad value stops start-up with
//! one line naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

use belfry_actors::SystemConfig;
use belfry_actors::delivery::DeliveryConfig;
use belfry_actors::delivery::backoff::Backoff;
use belfry_actors::delivery::breaker::BreakerConfig;
use belfry_actors::rooms::HistoryLimits;
use jsonwebtoken::Algorithm;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

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
        report_delay: Duration,
    },
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
    pub gateway: GatewayConfig,
    pub limits: crate::limits::LimitsConfig,
    pub system: SystemConfig,
}

/// The environment, or a map of it in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

fn parsed<T: std::str::FromStr>(
    src: &dyn Source,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| err(var, format!("cannot parse {raw:?}: {e}"))),
    }
}

fn millis(src: &dyn Source, var: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(parsed(src, var, default_ms)?))
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
        let carrier = Self::carrier(src)?;
        let delivery = Self::delivery(src)?;
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
        })
    }

    fn max_body_bytes(src: &dyn Source) -> Result<u64, ConfigError> {
        let var = "BELFRY_MAX_BODY_BYTES";
        let bytes = parsed(src, var, crate::routes::body::DEFAULT_MAX_BODY)?;
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

    fn carrier(src: &dyn Source) -> Result<CarrierConfig, ConfigError> {
        let from_number = src.get("TELNYX_FROM_NUMBER");
        let Some(api_key) = src.get("TELNYX_API_KEY") else {
            let failure_rate: f64 = parsed(src, "BELFRY_SANDBOX_FAILURE_RATE", 0.0)?;
            if !(0.0..=1.0).contains(&failure_rate) {
                return Err(err(
                    "BELFRY_SANDBOX_FAILURE_RATE",
                    "must be between 0 and 1",
                ));
            }
            return Ok(CarrierConfig::Sandbox {
                from_number: from_number.unwrap_or_else(|| "+15550100000".to_owned()),
                failure_rate,
                report_delay: millis(src, "BELFRY_SANDBOX_DELAY_MS", 800)?,
            });
        };
        let base_url = src
            .get("TELNYX_BASE_URL")
            .unwrap_or_else(|| "https://api.telnyx.com".to_owned());
        url::Url::parse(&base_url).map_err(|e| err("TELNYX_BASE_URL", e.to_string()))?;
        let public_key = src.get("TELNYX_PUBLIC_KEY").ok_or_else(|| {
            err(
                "TELNYX_PUBLIC_KEY",
                "is required with TELNYX_API_KEY (webhooks cannot be verified without it)",
            )
        })?;
        crate::telnyx::signature::WebhookVerifier::from_base64(&public_key, Duration::ZERO)
            .map_err(|e| err("TELNYX_PUBLIC_KEY", e.to_string()))?;
        let from_number = from_number
            .ok_or_else(|| err("TELNYX_FROM_NUMBER", "is required with TELNYX_API_KEY"))?;
        Ok(CarrierConfig::Telnyx {
            api_key,
            base_url: base_url.trim_end_matches('/').to_owned(),
            public_key,
            from_number,
            messaging_profile_id: src.get("TELNYX_MESSAGING_PROFILE_ID"),
        })
    }

    fn breaker(src: &dyn Source) -> Result<BreakerConfig, ConfigError> {
        let d = BreakerConfig::default();
        let percent = |var: &'static str, default: f64| -> Result<f64, ConfigError> {
            let v: f64 = parsed(src, var, default)?;
            if !(0.0..=100.0).contains(&v) || v == 0.0 {
                return Err(err(var, "must be a percentage above 0 and at most 100"));
            }
            Ok(v)
        };
        let at_least_one = |var: &'static str, default: usize| -> Result<usize, ConfigError> {
            let v: usize = parsed(src, var, default)?;
            if v == 0 {
                return Err(err(var, "must be at least 1"));
            }
            Ok(v)
        };
        Ok(BreakerConfig {
            window_size: at_least_one("BELFRY_BREAKER_WINDOW", d.window_size)?,
            minimum_calls: at_least_one("BELFRY_BREAKER_MIN_CALLS", d.minimum_calls)?,
            failure_rate_threshold: percent(
                "BELFRY_BREAKER_FAILURE_RATE",
                d.failure_rate_threshold,
            )?,
            slow_call_threshold: millis(src, "BELFRY_BREAKER_SLOW_CALL_MS", 5_000)?,
            slow_call_rate_threshold: percent(
                "BELFRY_BREAKER_SLOW_CALL_RATE",
                d.slow_call_rate_threshold,
            )?,
            wait_in_open: millis(src, "BELFRY_BREAKER_OPEN_MS", 30_000)?,
            half_open_calls: at_least_one("BELFRY_BREAKER_HALF_OPEN_CALLS", d.half_open_calls)?,
        })
    }

    fn delivery(src: &dyn Source) -> Result<DeliveryConfig, ConfigError> {
        let d = DeliveryConfig::default();
        let max_attempts: u32 = parsed(src, "BELFRY_SEND_MAX_ATTEMPTS", d.max_attempts)?;
        if max_attempts == 0 {
            return Err(err("BELFRY_SEND_MAX_ATTEMPTS", "must be at least 1"));
        }
        let factor: f64 = parsed(src, "BELFRY_SEND_BACKOFF_FACTOR", d.backoff.factor)?;
        if !(1.0..=10.0).contains(&factor) {
            return Err(err(
                "BELFRY_SEND_BACKOFF_FACTOR",
                "must be between 1 and 10",
            ));
        }
        let workers: usize = parsed(src, "BELFRY_SENDER_WORKERS", d.workers)?;
        if workers == 0 {
            return Err(err("BELFRY_SENDER_WORKERS", "must be at least 1"));
        }
        Ok(DeliveryConfig {
            max_attempts,
            backoff: Backoff {
                base: millis(src, "BELFRY_SEND_BACKOFF_BASE_MS", 1000)?,
                factor,
                max: millis(src, "BELFRY_SEND_BACKOFF_MAX_MS", 60_000)?,
            },
            send_timeout: millis(src, "BELFRY_SEND_TIMEOUT_MS", 10_000)?,
            workers,
            send_rate: {
                let rate: f64 = parsed(src, "BELFRY_SEND_RATE", d.send_rate)?;
                if !rate.is_finite() || rate < 0.0 {
                    return Err(err("BELFRY_SEND_RATE", "must be 0 (unpaced) or more"));
                }
                rate
            },
            breaker: Self::breaker(src)?,
            outbox_batch: parsed(src, "BELFRY_OUTBOX_BATCH", d.outbox_batch)?.max(1),
            outbox_poll: millis(src, "BELFRY_OUTBOX_POLL_MS", 1000)?.max(Duration::from_millis(10)),
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
