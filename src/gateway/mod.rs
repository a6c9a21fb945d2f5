//! The WebSocket gateway: `GET /ws`, protocol `belfry.v1` (docs/protocol.md).
//!
//! The handshake checks what it can before the upgrade: the Origin against the allowlist, the
//! offered subprotocols, a token given in `?token=` or as the `bearer.<jwt>` subprotocol, and
//! resume points. A connection with no token at all is upgraded and given a few seconds to send
//! an `auth` frame. Everything after the upgrade is the session's (see [`session`]).
//!
//! The token never reaches a log line: the request log prints the path only.

pub(crate) mod browser_client;
mod chat;
mod frames;
mod resume;
mod session;
mod upgrade;

use crate::http::registry::endpoint;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use belfry_actors::limiter::LimitKey;

use serde::Deserialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::config::GatewayConfig;
use crate::error::ApiError;
use crate::limits::http::client_ip;
use crate::state::AppState;
use crate::state::with_state;

pub use browser_client::route as client_route;
pub use upgrade::MAX_CLIENT_MESSAGE;

pub use belfry_actors::protocol::PROTOCOL;
/// How a token travels as a subprotocol: `bearer.<jwt>`.
const BEARER_PREFIX: &str = "bearer.";

pub mod close;
mod heartbeat;

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
    resume: Option<String>,
}

pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "ws")
        .and(with_state(state.clone()))
        .and(client_ip(&state.limits))
        .and(warp::query::<WsQuery>())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("sec-websocket-protocol"))
        .and(upgrade::upgrade_request())
        .and_then(handshake)
}

#[utoipa::path(get, path = "/ws", tag = "sockets", operation_id = "openSocket",
    description = "The WebSocket gateway, protocol `belfry.v1` (docs/protocol.md). The token may \
        also come as the subprotocol `bearer.<jwt>` or in an `auth` frame within 5 s.",
    params(
        ("token" = Option<String>, Query, description = "A bearer token"),
        ("resume" = Option<String>, Query, description = "`room:epoch:seq,…`: resume points"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade, or a bad resume point", body = crate::error::ErrorBody),
        (status = 401, description = "An invalid or expired token", body = crate::error::ErrorBody),
        (status = 403, description = "An origin not allowed", body = crate::error::ErrorBody),
        (status = 429, description = "Too many connects from this address or user", body = crate::error::ErrorBody),
    ))]
async fn handshake(
    state: AppState,
    client: Option<IpAddr>,
    query: WsQuery,
    origin: Option<String>,
    protocols: Option<String>,
    request: upgrade::UpgradeRequest,
) -> Result<Response, Rejection> {
    check_origin(&state.gateway, origin.as_deref()).map_err(warp::reject::custom)?;
    let offered = Offered::parse(protocols.as_deref()).map_err(warp::reject::custom)?;
    let auth = match query.token.or(offered.token) {
        Some(token) => Some(
            state
                .auth
                .authenticate(&token)
                .await
                .map_err(warp::reject::custom)?,
        ),
        None => None,
    };
    let limits = &state.limits;
    if let Some(ip) = client {
        let policy = limits.config().ws_ip;
        limits
            .check(client, LimitKey::Ip(ip), policy)
            .await
            .map_err(warp::reject::custom)?;
    }
    if let Some(user) = &auth {
        let policy = limits.config().ws_user.for_user(user.church_id, user.role);
        limits
            .check_user(client, user, policy)
            .await
            .map_err(warp::reject::custom)?;
    }
    let resume =
        resume::parse_query(query.resume.as_deref().unwrap_or_default()).map_err(|message| {
            warp::reject::custom(ApiError::bad_request("invalid_resume", message))
        })?;
    let start = session::SessionStart {
        conn: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        state,
        client,
        auth,
        resume,
    };
    let protocol = offered.belfry.then_some(PROTOCOL);
    Ok(request.accept(protocol, move |socket, wire| {
        session::run(socket, wire, start)
    }))
}

/// Browsers always send their page's origin; other clients may send none. With an allowlist
/// configured, a browser from anywhere else is refused.
fn check_origin(config: &GatewayConfig, origin: Option<&str>) -> Result<(), ApiError> {
    match origin {
        Some(origin)
            if !config.allowed_origins.is_empty()
                && !config
                    .allowed_origins
                    .iter()
                    .any(|allowed| allowed == origin.trim_end_matches('/')) =>
        {
            Err(ApiError::new(
                warp::http::StatusCode::FORBIDDEN,
                "origin_not_allowed",
                format!("origin {origin:?} may not open sockets here"),
            ))
        }
        _ => Ok(()),
    }
}

/// The subprotocols a client offered: ours, and perhaps a token.
struct Offered {
    belfry: bool,
    token: Option<String>,
}

impl Offered {
    fn parse(header: Option<&str>) -> Result<Self, ApiError> {
        let mut offered = Offered {
            belfry: false,
            token: None,
        };
        let Some(header) = header else {
            return Ok(offered);
        };
        for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == PROTOCOL {
                offered.belfry = true;
            } else if let Some(token) = item.strip_prefix(BEARER_PREFIX) {
                offered.token = Some(token.to_owned());
            }
        }
        if !offered.belfry {
            return Err(ApiError::bad_request(
                "unsupported_protocol",
                format!("this server speaks the {PROTOCOL} subprotocol"),
            ));
        }
        Ok(offered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_may_ride_in_the_subprotocol_header() {
        let offered = Offered::parse(Some("belfry.v1, bearer.abc.def.ghi")).unwrap();
        assert!(offered.belfry);
        assert_eq!(offered.token.as_deref(), Some("abc.def.ghi"));
        assert!(Offered::parse(None).unwrap().token.is_none());
        let refused = Offered::parse(Some("chat, bearer.x")).err().unwrap();
        assert_eq!(refused.code, "unsupported_protocol");
    }
}
