//! Admin introspection: the live actor tree and the breaker.

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use belfry_actors::delivery::breaker::BreakerState;
use serde::Deserialize;

use super::{json_body, json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::error::{ApiError, ApiResult, into_response};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = warp::get()
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()));
    let actors = warp::path!("api" / "admin" / "actors")
        .and(admin.clone())
        .then(|state, user| async move { into_response(actors(state, user).await) });
    let breaker = warp::path!("api" / "admin" / "breaker")
        .and(admin)
        .then(|state, user| async move { into_response(breaker(state, user).await) });
    let set_breaker = warp::path!("api" / "admin" / "breaker")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(json_body::<SetBreaker>())
        .then(|state, user, req| async move { into_response(set_breaker(state, user, req).await) });
    actors.or(breaker).unify().or(set_breaker).unify()
}

async fn actors(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    Ok(json_reply(StatusCode::OK, &state.system.tree()))
}

async fn breaker(state: AppState, user: AuthUser) -> ApiResult {
    user.require_admin()?;
    let snapshot = state
        .system
        .directory()
        .breaker_snapshot()
        .await
        .ok_or_else(|| ApiError::unavailable("the breaker is restarting; try again"))?;
    Ok(json_reply(StatusCode::OK, &snapshot))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBreaker {
    state: String,
}

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
        .ok_or_else(|| ApiError::unavailable("the breaker is restarting; try again"))?
        .map_err(|e| ApiError::bad_request("invalid_state", e))?;
    Ok(json_reply(StatusCode::OK, &snapshot))
}
