//! Limits shared by every node (`BELFRY_REDIS_URL`): each check runs one script in Redis
//! (`gcra.lua`: the key's bucket for the policy, timed by Redis's own clock, lockouts
//! included), so a user at their limit on one node is refused on every other.
//!
//! Redis that does not answer within `BELFRY_REDIS_TIMEOUT_MS` (down, slow, not reached yet)
//! must not stop the API: the check falls back to the node's own limiter (`Limits::check`),
//! which limits per node, the node counts as degraded (`/ready` says so), and Redis is tried
//! again on a check after [`RETRY_AFTER`].

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use belfry_actors::limiter::{Decision, LimitKey, Policy};
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// How long a node that could not reach Redis checks locally before trying it again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

static SCRIPT: &str = include_str!("gcra.lua");

pub struct SharedLimits {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    script: redis::Script,
    /// Put before every key, so several deployments (or test runs) can share one Redis.
    prefix: String,
    timeout: Duration,
    /// Since when Redis has not answered; `None` while it does.
    failing_since: Mutex<Option<Instant>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis was unreachable moments ago; checking locally for now")]
    Resting,
}

impl SharedLimits {
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            connection: OnceCell::new(),
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_owned(),
            timeout,
            failing_since: Mutex::new(None),
        })
    }

    /// Whether Redis answered the last check (or none was made yet).
    pub fn reachable(&self) -> bool {
        self.failing_since
            .lock()
            .map(|f| f.is_none())
            .unwrap_or(true)
    }

    /// Counts `cost` requests of `key` under `policy` in the cluster's bucket.
    pub async fn check(
        &self,
        key: &LimitKey,
        policy: Policy,
        cost: u32,
    ) -> Result<Decision, SharedError> {
        if self.resting() {
            return Err(SharedError::Resting);
        }
        let answer = tokio::time::timeout(self.timeout, self.run(key, policy, cost)).await;
        let outcome = match answer {
            Ok(Ok(decision)) => Ok(decision),
            Ok(Err(e)) => Err(SharedError::Redis(e)),
            Err(_) => Err(SharedError::Timeout(self.timeout)),
        };
        if let Ok(mut failing) = self.failing_since.lock() {
            match (&outcome, *failing) {
                (Ok(_), Some(_)) => {
                    tracing::info!("Redis answers again: limits are shared");
                    *failing = None;
                }
                (Err(e), None) => {
                    tracing::warn!(error = %e, "Redis does not answer: limits are this node's own");
                    *failing = Some(Instant::now());
                }
                _ => {}
            }
        }
        outcome
    }

    /// Redis failed less than [`RETRY_AFTER`] ago: do not wait on it again yet.
    fn resting(&self) -> bool {
        self.failing_since
            .lock()
            .map(|f| f.is_some_and(|since| since.elapsed() < RETRY_AFTER))
            .unwrap_or(false)
    }

    async fn run(
        &self,
        key: &LimitKey,
        policy: Policy,
        cost: u32,
    ) -> Result<Decision, redis::RedisError> {
        let mut connection = self
            .connection
            .get_or_try_init(|| self.client.get_connection_manager())
            .await?
            .clone();
        let limit = policy.limit;
        let interval = (limit.window / limit.quota).as_micros() as u64;
        let (lock_base, lock_max) = policy
            .lockout
            .map(|l| (l.base.as_micros() as u64, l.max.as_micros() as u64))
            .unwrap_or((0, 0));
        let (allowed, remaining, reset, retry): (i64, i64, i64, i64) = self
            .script
            .key(self.key(policy.name, key))
            .arg(interval)
            .arg(interval * u64::from(limit.burst))
            .arg(cost)
            .arg(lock_base)
            .arg(lock_max)
            .invoke_async(&mut connection)
            .await?;
        let micros = |n: i64| Duration::from_micros(n.max(0) as u64);
        Ok(Decision {
            policy: policy.name,
            limit,
            allowed: allowed == 1,
            remaining: remaining.clamp(0, i64::from(u32::MAX)) as u32,
            reset: micros(reset),
            retry_after: (allowed != 1).then(|| micros(retry)),
        })
    }

    fn key(&self, policy: &str, key: &LimitKey) -> String {
        let prefix = &self.prefix;
        match key {
            LimitKey::User { user_id, .. } => format!("{prefix}limit:{policy}:user:{user_id}"),
            LimitKey::Ip(ip) => format!("{prefix}limit:{policy}:ip:{}", address(ip)),
            LimitKey::Email(email) => format!("{prefix}limit:{policy}:email:{email}"),
            LimitKey::EmailAt { email, ip } => {
                format!("{prefix}limit:{policy}:email-at:{}:{email}", address(ip))
            }
        }
    }
}

/// An address as keys spell it (IPv4 inside IPv6 as IPv4, so one client is one key).
fn address(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}
