//! What the running system is doing, for the dashboard: the rooms and the sockets in them, and
//! the throughput chart (sends, deliveries and socket events over the last 15 minutes). A
//! church's admin sees their own church's share; operators see every church's, or one's with
//! `?churchId=`, and alone list the churches to pick from and the texts no church could be
//! found for.

use belfry_actors::rooms::RoomCensus;
use chrono::Utc;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::church_query::ChurchQuery;
use super::church_sight::ChurchSight;
use crate::auth::{AuthUser, bearer};
use crate::db::churches::{self, ChurchSummary};
use crate::db::inbound::{self, UnroutedReply};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::http::registry::endpoint;
use crate::state::{AppState, with_state};
use crate::telemetry::throughput::{self, Point, Scope};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.auth.clone()));
    let rooms = endpoint!(GET, "api" / "admin" / "rooms")
        .and(admin.clone())
        .and(warp::query::<ChurchQuery>())
        .then(|state, user, query| async move { into_response(rooms(state, user, query).await) });
    let throughput = endpoint!(GET, "api" / "admin" / "throughput")
        .and(admin.clone())
        .and(warp::query::<ChurchQuery>())
        .then(
            |state, user, query| async move { into_response(throughput(state, user, query).await) },
        );
    let churches = endpoint!(GET, "api" / "admin" / "churches")
        .and(admin.clone())
        .then(|state, user| async move { into_response(churches(state, user).await) });
    let unrouted = endpoint!(GET, "api" / "admin" / "unrouted-replies")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(unrouted(state, user).await) });
    rooms
        .or(throughput)
        .unify()
        .or(churches)
        .unify()
        .or(unrouted)
        .unify()
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomsView {
    /// Most sockets first.
    rooms: Vec<RoomCensus>,
    /// Sockets in the rooms shown, a socket counted once per room it is in.
    memberships: usize,
}

#[utoipa::path(get, path = "/api/admin/rooms", tag = "admin", operation_id = "roomCensus",
    security(("bearer" = [])),
    params(ChurchQuery),
    responses(
        (status = 200, description = "Every room in sight with its sockets: the church's own \
            for its admins; every church's, or one's with `churchId`, for operators", body = RoomsView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 503, description = "The rooms are restarting", body = ErrorBody),
    ))]
async fn rooms(state: AppState, user: AuthUser, query: ChurchQuery) -> ApiResult {
    let sight = ChurchSight::of(&state, query.admin_view(&user)?).await?;
    let mut rooms = state
        .system
        .directory()
        .rooms()
        .await
        .map_err(|_| ApiError::unavailable("the rooms are restarting; try again"))?;
    if let Some(sight) = sight {
        rooms.retain(|room| sight.sees_room(&room.name));
    }
    let memberships = rooms.iter().map(|room| room.sockets).sum();
    Ok(json_reply(
        StatusCode::OK,
        &RoomsView { rooms, memberships },
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThroughputView {
    /// The length of a step; the last point is the step still running.
    step_seconds: u64,
    /// Oldest first: up to 15 minutes of steps since the server started, then the running one.
    points: Vec<Point>,
}

#[utoipa::path(get, path = "/api/admin/throughput", tag = "admin", operation_id = "getThroughput",
    security(("bearer" = [])),
    params(ChurchQuery),
    responses(
        (status = 200, description = "Sends, deliveries and socket events in 10-second steps \
            over the last 15 minutes: the church's own for its admins; every church's, or one's \
            with `churchId`, for operators", body = ThroughputView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn throughput(state: AppState, user: AuthUser, query: ChurchQuery) -> ApiResult {
    let scope = match query.admin_view(&user)? {
        Some(church) => Scope::Church(church),
        None => Scope::Everyone,
    };
    let points = state.metrics.throughput().points(scope, Utc::now());
    Ok(json_reply(
        StatusCode::OK,
        &ThroughputView {
            step_seconds: throughput::STEP.as_secs(),
            points,
        },
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChurchList {
    churches: Vec<ChurchSummary>,
}

#[utoipa::path(get, path = "/api/admin/churches", tag = "admin", operation_id = "listChurches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every church by name, for an operator to pick one", body = ChurchList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
    ))]
async fn churches(state: AppState, user: AuthUser) -> ApiResult {
    user.require_operator()?;
    let churches = churches::list(&state.pool).await?;
    Ok(json_reply(StatusCode::OK, &ChurchList { churches }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnroutedList {
    /// Newest first, the last 100.
    replies: Vec<UnroutedReply>,
}

#[utoipa::path(get, path = "/api/admin/unrouted-replies", tag = "admin", operation_id = "unroutedReplies",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Texts no church could be found for: sent to a number no \
            church uses, or to the shared number from a phone no church knows", body = UnroutedList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
    ))]
async fn unrouted(state: AppState, user: AuthUser) -> ApiResult {
    user.require_operator()?;
    let replies = inbound::unrouted(&state.pool, 100).await?;
    Ok(json_reply(StatusCode::OK, &UnroutedList { replies }))
}
