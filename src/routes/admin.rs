//! Admin introspection: the live actor tree, the breaker, the dead-letter queue.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::db::dead_letters;
use crate::error::{ApiError, ApiResult, into_response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = warp::get()
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()));
    let actors = warp::path!("api" / "admin" / "actors")
        .and(admin.clone())
        .then(|state, user| async move { into_response(actors(state, user).await) });
    let breaker = warp::path!("api" / "admin" / "breaker")
        .and(admin.clone())
        .then(|state, user| async move { into_response(breaker(state, user).await) });
    let dlq = warp::path!("api" / "admin" / "dlq")
        .and(admin)
        .and(warp::query::<Page>())
        .then(|state, user, page| async move { into_response(dlq(state, user, page).await) });
    actors.or(breaker).unify().or(dlq).unify()
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

async fn dlq(state: AppState, user: AuthUser, page: Page) -> ApiResult {
    user.require_admin()?;
    let limit = page.limit.unwrap_or(50);
    let offset = page.offset.unwrap_or(0);
    if !(1..=500).contains(&limit) || offset < 0 {
        return Err(ApiError::bad_request(
            "invalid_page",
            "limit must be 1 to 500 and offset at least 0",
        ));
    }
    let items = dead_letters::list(&state.pool, user.church_id, limit, offset).await?;
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "items": items, "limit": limit, "offset": offset }),
    ))
}
