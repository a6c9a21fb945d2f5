//! The probes a load balancer or orchestrator asks: `GET /health` (the process answers) and
//! `GET /ready` (it can do its work: the database answers, the actor tree runs, and it is not
//! shutting down). Neither needs a token; neither says more than that.

use std::time::Duration;

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::state::{AppState, with_state};

/// How long `/ready` waits for the database before calling it unreachable.
const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let health = endpoint!(GET, "health").map(health);
    let ready = endpoint!(GET, "ready")
        .and(with_state(state))
        .then(|state| async move { into_response(ready(state).await) });
    health.or(ready).unify()
}

/// The process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `ready` from `/ready`.
    status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "The server is up", body = Health)))]
pub fn health() -> Response {
    warp::reply::json(&Health { status: "ok" }).into_response()
}

#[utoipa::path(get, path = "/ready", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, description = "The server can serve: `{\"status\":\"ready\"}`, or \
            `degraded` when Redis (`BELFRY_REDIS_URL`) does not answer and limits are the \
            node's own", body = Health),
        (status = 503, description = "`not_ready`: the database does not answer, the actor \
            tree is not running, or the server is shutting down", body = ErrorBody),
    ))]
pub async fn ready(state: AppState) -> ApiResult {
    let not_ready =
        |why: &str| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", why.to_owned());
    if *state.shutdown.borrow() {
        return Err(not_ready("the server is shutting down"));
    }
    if !state.system.is_running() {
        return Err(not_ready("the actor tree is not running"));
    }
    match tokio::time::timeout(DATABASE_DEADLINE, crate::db::ping(&state.pool)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => return Err(not_ready("the database does not answer")),
    }
    // Serving, but with this node's own limits: Redis does not answer.
    let status = match state.limits.shared_reachable() {
        Some(false) => "degraded",
        _ => "ready",
    };
    Ok(warp::reply::json(&Health { status }).into_response())
}
