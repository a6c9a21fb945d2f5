//! Admin introspection: the live actor tree and the breaker. Operators see the whole tree and
//! alone may set the breaker, which holds every church's sending; a church's admin sees the
//! tree's shared actors and their own church's rooms and limiters (see `church_sight`), and the
//! breaker's state.

use crate::http::registry::endpoint;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use belfry_actors::delivery::breaker::BreakerSnapshot;
use belfry_actors::stats::ActorNode;
use serde::Deserialize;

use super::church_query::ChurchQuery;
use super::church_sight::ChurchSight;
use crate::auth::{AuthUser, bearer};
use crate::breaker_orders::{ORDERS, OrderError, order_state};
use crate::db::breaker_orders;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.auth.clone()));
    let actors = endpoint!(GET, "api" / "admin" / "actors")
        .and(admin.clone())
        .and(warp::query::<ChurchQuery>())
        .then(|state, user, query| async move { into_response(actors(state, user, query).await) });
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
    params(ChurchQuery),
    responses(
        (status = 200, description = "The live supervision tree: each actor's name, status, \
            counters (handled, failures, restarts, backlog) and children. A church's admin \
            sees the shared actors and their own church's rooms and limiters; operators see \
            every actor, or one church's share with `churchId`", body = ActorNode),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn actors(state: AppState, user: AuthUser, query: ChurchQuery) -> ApiResult {
    let sight = ChurchSight::of(&state, query.admin_view(&user)?).await?;
    let mut tree = state.system.tree();
    if let Some(sight) = sight {
        tree.retain(&|node| sight.sees_actor(node));
    }
    Ok(json_reply(StatusCode::OK, &tree))
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
fn breaker_state_schema() -> utoipa::openapi::schema::Object {
    crate::http::schema::one_of(ORDERS.map(|(name, _)| name))
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
    let target = order_state(&req.state).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_state",
            format!(
                "state {:?} is not one of {}",
                req.state,
                ORDERS.map(|(name, _)| name).join(", ")
            ),
        )
    })?;
    tracing::warn!(
        operator = user.user_id,
        ?target,
        "breaker state set by an operator"
    );
    // Kept first, so every node follows it (`crate::breaker_orders`); then applied here.
    breaker_orders::record(&state.pool, &req.state, Some(user.user_id)).await?;
    let directory = state.system.directory();
    let unavailable = || ApiError::unavailable("the breaker is restarting; try again");
    let snapshot = match state.breaker_orders.sync(&state.pool, directory).await {
        Ok(Some(snapshot)) => snapshot,
        // A newer order was applied meanwhile: the breaker is as that one left it.
        Ok(None) => directory
            .breaker_snapshot()
            .await
            .map_err(|_| unavailable())?,
        Err(OrderError::Db(e)) => return Err(e.into()),
        Err(OrderError::Unavailable) => return Err(unavailable()),
    };
    Ok(json_reply(StatusCode::OK, &snapshot))
}
