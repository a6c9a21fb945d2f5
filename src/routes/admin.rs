//! Admin introspection: the live actor tree and the breaker.

use crate::http::registry::endpoint;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use belfry_actors::CallError;
use belfry_actors::delivery::breaker::{BreakerSnapshot, BreakerState};
use belfry_actors::stats::ActorNode;
use serde::Deserialize;

use crate::auth::{AuthUser, bearer};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.jwt.clone()));
    let actors = endpoint!(GET, "api" / "admin" / "actors")
        .and(admin.clone())
        .then(|state, user| async move { into_response(actors(state, user).await) });
    let breaker = endpoint!(GET, "api" / "admin" / "breaker")
        .and(admin)
        .then(|state, user| async move { into_response(breaker(state, user).await) });
    let set_breaker = endpoint!(POST, "api" / "admin" / "breaker")
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(json_body::<SetBreaker>(&state))
        .then(|state, user, req| async move { into_response(set_breaker(state, user, req).await) });
    actors.or(breaker).unify().or(set_breaker).unify()
}

#[utoipa::path(get, path = "/api/admin/actors", tag = "admin", operation_id = "actorTree",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The live supervision tree: each actor's name, status, \
            counters (handled, failures, restarts, backlog) and children", body = ActorNode),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn actors(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    Ok(json_reply(StatusCode::OK, &state.system.tree()))
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
    /// `closed`, `forced_open` or `disabled`.
    state: String,
}

#[utoipa::path(post, path = "/api/admin/breaker", tag = "admin", operation_id = "setBreaker",
    security(("bearer" = [])),
    request_body = SetBreaker,
    responses(
        (status = 200, description = "The breaker after the change", body = BreakerSnapshot),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, description = "The breaker is restarting", body = ErrorBody),
    ))]
async fn set_breaker(state: AppState, user: AuthUser, req: SetBreaker) -> ApiResult {
    user.require_admin()?;
    let target = match req.state.as_str() {
        "closed" => BreakerState::Closed,
        "forced_open" => BreakerState::ForcedOpen,
        "disabled" => BreakerState::Disabled,
        other => {
            return Err(ApiError::bad_request(
                "invalid_state",
                format!("state {other:?} is not one of closed, forced_open, disabled"),
            ));
        }
    };
    tracing::warn!(
        admin = user.user_id,
        ?target,
        "breaker state set by an admin"
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
