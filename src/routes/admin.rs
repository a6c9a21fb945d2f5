//! Admin introspection: the live actor tree and the breaker.

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_reply, with_state};
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
    actors.or(breaker).unify()
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
