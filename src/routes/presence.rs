//! `GET /api/presence`: who of the caller's church is online now (see `actors/src/presence.rs`).

use crate::http::registry::endpoint;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::state::AppState;
use crate::state::with_state;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "presence")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(online(state, user).await) })
}

/// Who is online.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OnlineList {
    /// Ids of the church's users with at least one open socket (or within the grace period).
    online: Vec<i64>,
}

#[utoipa::path(get, path = "/api/presence", tag = "chat", operation_id = "presence",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The church's users online now", body = OnlineList),
        (status = 401, body = ErrorBody),
        (status = 503, description = "Presence is restarting", body = ErrorBody),
    ))]
async fn online(state: AppState, user: AuthUser) -> ApiResult {
    let online = state
        .system
        .directory()
        .online(user.church()?)
        .await
        .map_err(|_| ApiError::unavailable("presence is restarting; try again"))?;
    Ok(json_reply(StatusCode::OK, &OnlineList { online }))
}
