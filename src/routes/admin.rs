//! Admin introspection: the live actor tree and the breaker. Operators see the whole tree and
//! alone may set the breaker, which holds every church's sending; a church's admin sees the
//! tree's shared actors and their own church's rooms and limiters, and the breaker's state.

use crate::http::registry::endpoint;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use belfry_actors::CallError;
use belfry_actors::delivery::breaker::{BreakerSnapshot, BreakerState};
use belfry_actors::stats::ActorNode;
use serde::Deserialize;

use std::collections::HashSet;

use crate::auth::{AuthUser, bearer};
use crate::db::{chat, users};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.auth.clone()));
    let actors = endpoint!(GET, "api" / "admin" / "actors")
        .and(admin.clone())
        .then(|state, user| async move { into_response(actors(state, user).await) });
    let breaker = endpoint!(GET, "api" / "admin" / "breaker")
        .and(admin)
        .then(|state, user| async move { into_response(breaker(state, user).await) });
    let set_breaker = endpoint!(POST, "api" / "admin" / "breaker")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<SetBreaker>(&state))
        .then(|state, user, req| async move { into_response(set_breaker(state, user, req).await) });
    actors.or(breaker).unify().or(set_breaker).unify()
}

#[utoipa::path(get, path = "/api/admin/actors", tag = "admin", operation_id = "actorTree",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The live supervision tree: each actor's name, status, \
            counters (handled, failures, restarts, backlog) and children. A church's admin \
            sees the shared actors and their own church's rooms and limiters; operators see \
            every actor", body = ActorNode),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn actors(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let mut tree = state.system.tree();
    if !user.is_operator() {
        let church = user.church()?;
        let sight = ChurchSight {
            church,
            users: users::ids_in_church(&state.pool, church)
                .await?
                .into_iter()
                .collect(),
            channels: chat::channel_ids_of_church(&state.pool, church)
                .await?
                .into_iter()
                .collect(),
        };
        tree.retain(&|node| sight.sees(node));
    }
    Ok(json_reply(StatusCode::OK, &tree))
}

/// What of the tree a church's admin sees: every shared actor, and of the per-key actors
/// (rooms, limiters) only their church's.
struct ChurchSight {
    church: i64,
    users: HashSet<i64>,
    channels: HashSet<i64>,
}

impl ChurchSight {
    fn sees(&self, node: &ActorNode) -> bool {
        let id_after = |prefix: &str| {
            node.name
                .strip_prefix(prefix)
                .and_then(|rest| rest.split(':').next())
                .and_then(|id| id.parse::<i64>().ok())
        };
        match node.kind.as_str() {
            "room" => {
                if let Some(church) = id_after("church:") {
                    church == self.church
                } else if let Some(user) = id_after("user:") {
                    self.users.contains(&user)
                } else if let Some(channel) = id_after("channel:") {
                    self.channels.contains(&channel)
                } else {
                    false
                }
            }
            "limiter" => id_after("limits:user:").is_some_and(|user| self.users.contains(&user)),
            _ => true,
        }
    }
}

#[utoipa::path(get, path = "/api/admin/breaker", tag = "admin", operation_id = "getBreaker",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The circuit breaker: state, window, counts, settings", body = BreakerSnapshot),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 503, description = "The breaker is restarting", body = ErrorBody),
    ))]
async fn breaker(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let snapshot = state
        .system
        .directory()
        .breaker_snapshot()
        .await
        .map_err(|_| ApiError::unavailable("the breaker is restarting; try again"))?;
    Ok(json_reply(StatusCode::OK, &snapshot))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBreaker {
    #[schema(schema_with = breaker_state_schema)]
    state: String,
}

/// The states an operator may set, by name.
const SETTABLE: [(&str, BreakerState); 3] = [
    ("closed", BreakerState::Closed),
    ("forced_open", BreakerState::ForcedOpen),
    ("disabled", BreakerState::Disabled),
];

fn breaker_state_schema() -> utoipa::openapi::schema::Object {
    crate::http::schema::one_of(SETTABLE.map(|(name, _)| name))
}

#[utoipa::path(post, path = "/api/admin/breaker", tag = "admin", operation_id = "setBreaker",
    security(("bearer" = [])),
    request_body = SetBreaker,
    responses(
        (status = 200, description = "The breaker after the change", body = BreakerSnapshot),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, description = "The breaker is restarting", body = ErrorBody),
    ))]
async fn set_breaker(state: AppState, user: AuthUser, req: SetBreaker) -> ApiResult {
    // The breaker holds every church's sending: a church pauses its own with
    // `POST /api/admin/sending` instead.
    user.require_operator()?;
    let target = SETTABLE
        .iter()
        .find(|(name, _)| *name == req.state)
        .map(|(_, state)| *state)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_state",
                format!(
                    "state {:?} is not one of {}",
                    req.state,
                    SETTABLE.map(|(name, _)| name).join(", ")
                ),
            )
        })?;
    tracing::warn!(
        operator = user.user_id,
        ?target,
        "breaker state set by an operator"
    );
    let snapshot = state
        .system
        .directory()
        .set_breaker(target)
        .await
        .map_err(|e| match e {
            CallError::Failed(refused) => {
                ApiError::bad_request("invalid_state", refused.to_string())
            }
            _ => ApiError::unavailable("the breaker is restarting; try again"),
        })?;
    Ok(json_reply(StatusCode::OK, &snapshot))
}
