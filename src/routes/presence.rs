//! `GET /api/presence`: who of the caller's church is online now (see `actors/src/presence.rs`).

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::error::{ApiError, ApiResult, into_response};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "presence")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .then(|state, user| async move { into_response(online(state, user).await) })
}

async fn online(state: AppState, user: AuthUser) -> ApiResult {
    let online = state
        .system
        .directory()
        .online(user.church_id)
        .await
        .ok_or_else(|| ApiError::unavailable("presence is restarting; try again"))?;
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "online": online }),
    ))
}
