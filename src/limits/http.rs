//! Rate limits at the HTTP edge: asking the limiter, the IETF draft headers
//! (`RateLimit-Policy`, `RateLimit`, and `Retry-After` on a `429`), and the filter that counts
//! every authenticated request against its user's `api` policy.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use belfry_actors::Directory;
use belfry_actors::limiter::{Decision, LimitKey, Policy};
use warp::http::StatusCode;
use warp::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::denials::Denials;
use super::policies::LimitsConfig;
use super::shared::SharedLimits;
use crate::auth::{AuthUser, JwtKeys, bearer_token};
use crate::error::ApiError;
use crate::server::Connection;

pub struct Limits {
    config: LimitsConfig,
    directory: Arc<Directory>,
    denials: Denials,
    /// The cluster's buckets in Redis (`BELFRY_REDIS_URL`); without it, or while Redis does
    /// not answer, this node's own limiter counts.
    shared: Option<SharedLimits>,
}

impl Limits {
    pub fn new(
        config: LimitsConfig,
        directory: Arc<Directory>,
        shared: Option<SharedLimits>,
    ) -> Self {
        Self {
            config,
            directory,
            denials: Denials::default(),
            shared,
        }
    }

    /// `None` without Redis; else whether Redis answered the last check.
    pub fn shared_reachable(&self) -> Option<bool> {
        self.shared.as_ref().map(SharedLimits::reachable)
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// Refusals since start, by policy.
    pub fn denials(&self) -> &Denials {
        &self.denials
    }

    /// The limiter's keys now (users, addresses, emails within their windows).
    pub fn keys_tracked(&self) -> usize {
        self.directory.limits_ledger().len()
    }

    /// Counts one request of `key` under `policy`. `Ok(None)`: not limited (an exempt client,
    /// or the limiter did not answer, which lets the request through).
    pub async fn check(
        &self,
        client: Option<IpAddr>,
        key: LimitKey,
        policy: Policy,
    ) -> Result<Option<Decision>, ApiError> {
        if client.is_some_and(|ip| self.config.is_exempt(ip)) {
            return Ok(None);
        }
        let shared = match &self.shared {
            Some(shared) => shared.check(&key, policy, 1).await.ok(),
            None => None,
        };
        let decision = match shared {
            Some(decision) => Some(decision),
            None => self.directory.check_limit(&key, policy, 1).await,
        };
        match decision {
            None => {
                tracing::warn!(
                    policy = policy.name,
                    "limiter did not answer; request let through"
                );
                Ok(None)
            }
            Some(decision) if decision.allowed => Ok(Some(decision)),
            Some(decision) => {
                self.denials.record(policy.name);
                Err(too_many(&decision))
            }
        }
    }

    /// The `api` policy of an authenticated user.
    pub async fn check_user(
        &self,
        client: Option<IpAddr>,
        user: &AuthUser,
        policy: Policy,
    ) -> Result<Option<Decision>, ApiError> {
        if self.config.is_exempt_user(user.user_id) {
            return Ok(None);
        }
        let key = LimitKey::User {
            user_id: user.user_id,
            church_id: user.church_id,
        };
        self.check(client, key, policy).await
    }
}

/// Whole seconds, rounded up: a client that waits this long is not refused again.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A header value made at run time (never fails on the ASCII this module writes).
pub fn header_value(value: String) -> HeaderValue {
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// `RateLimit-Policy: "api";q=1000;w=3600` and `RateLimit: "api";r=998;t=3`.
pub fn headers(decision: &Decision) -> [(HeaderName, HeaderValue); 2] {
    let limit = decision.limit;
    [
        (
            RATELIMIT_POLICY,
            header_value(format!(
                "\"{}\";q={};w={}",
                decision.policy,
                limit.quota,
                limit.window.as_secs()
            )),
        ),
        (
            RATELIMIT,
            header_value(format!(
                "\"{}\";r={};t={}",
                decision.policy,
                decision.remaining,
                ceil_secs(decision.reset)
            )),
        ),
    ]
}

/// The `429` for a refusal: the headers, `Retry-After`, and the policy named in the body.
pub fn too_many(decision: &Decision) -> ApiError {
    let wait = ceil_secs(decision.retry_after.unwrap_or_default()).max(1);
    let limit = decision.limit;
    let mut error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "too many requests: the {:?} limit is {} per {} s; try again in {wait} s",
            decision.policy,
            limit.quota,
            limit.window.as_secs()
        ),
    )
    .with_details(serde_json::json!({
        "policy": decision.policy,
        "quota": limit.quota,
        "windowSecs": limit.window.as_secs(),
        "retryAfterSecs": wait,
    }))
    .with_header(RETRY_AFTER, header_value(wait.to_string()));
    for (name, value) in headers(decision) {
        error = error.with_header(name, value);
    }
    error
}

/// Adds the headers of `decisions` to a response (several policies give several entries).
pub fn with_headers<'a>(
    mut response: Response,
    decisions: impl IntoIterator<Item = &'a Decision>,
) -> Response {
    for decision in decisions {
        for (name, value) in headers(decision) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The client's address: the connection's, or, when the connection comes from a trusted
/// proxy (`BELFRY_TRUSTED_PROXIES`), the address that proxy saw (`X-Forwarded-For`).
pub fn client_ip(
    limits: &Arc<Limits>,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = Rejection> + Clone + use<> {
    let limits = Arc::clone(limits);
    warp::ext::optional::<Connection>()
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .map(
            move |connection: Option<Connection>, forwarded: Option<String>| {
                let peer = connection.map(|c| c.peer.ip())?;
                Some(limits.config().client_of(peer, forwarded.as_deref()))
            },
        )
}

/// Counts a request that carries a valid bearer token against its user's `api` policy,
/// refusing it with `429` over the limit; extracts the decision for the response's headers.
/// Requests without a valid token pass uncounted (their route refuses them, or has limits of
/// its own: login, sockets, signed webhooks).
pub fn api(
    limits: Arc<Limits>,
    jwt: JwtKeys,
) -> impl Filter<Extract = (Option<Decision>,), Error = Rejection> + Clone {
    client_ip(&limits)
        .and(warp::header::optional::<String>("authorization"))
        .and_then(
            move |client: Option<IpAddr>, authorization: Option<String>| {
                let (limits, jwt) = (Arc::clone(&limits), jwt.clone());
                async move {
                    // Exempt clients are not even looked at.
                    if client.is_some_and(|ip| limits.config().is_exempt(ip)) {
                        return Ok(None);
                    }
                    let user = authorization
                        .as_deref()
                        .and_then(bearer_token)
                        .and_then(|token| jwt.authenticate(token).ok());
                    let Some(user) = user else {
                        return Ok(None);
                    };
                    let policy = limits.config().api.for_user(user.church_id, user.role);
                    limits
                        .check_user(client, &user, policy)
                        .await
                        .map_err(warp::reject::custom)
                }
            },
        )
}
