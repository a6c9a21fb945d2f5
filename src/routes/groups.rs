//! `/api/groups`: groups of the caller's church's members ("Choir", "Youth"), which staff make,
//! rename, fill and empty, and which a send takes as its audience (`groupIds`). Deleting a
//! group leaves its members as they are.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{AuthUser, bearer};
use crate::db::groups::{self, Group, GroupError};
use crate::domain::GroupName;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

/// The most members added in one request.
const MAX_MEMBER_IDS: usize = 10_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// 1 to 100 characters, no control characters; unique in the church whatever its case.
    #[schema(schema_with = group_name_schema)]
    name: String,
}

fn group_name_schema() -> utoipa::openapi::schema::Object {
    schema::text(GroupName::MAX_LEN, crate::domain::Controls::None)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupMembersRequest {
    #[schema(schema_with = member_ids_schema)]
    member_ids: Vec<i64>,
}

fn member_ids_schema() -> utoipa::openapi::schema::Array {
    schema::ids(1, Some(MAX_MEMBER_IDS))
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    groups: Vec<Group>,
}

/// A group with who is in it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetail {
    id: i64,
    name: String,
    member_count: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    /// Its members (removed members left out), by id.
    member_ids: Vec<i64>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let create = endpoint!(POST, "api" / "groups")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<GroupRequest>(&state))
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = endpoint!(GET, "api" / "groups")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(list(state, user).await) });
    let show = endpoint!(GET, "api" / "groups" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|id, state, user| async move { into_response(show(state, user, id).await) });
    let rename = endpoint!(PATCH, "api" / "groups" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<GroupRequest>(&state))
        .then(
            |id, state, user, req| async move { into_response(rename(state, user, id, req).await) },
        );
    let delete = endpoint!(DELETE, "api" / "groups" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|id, state, user| async move { into_response(delete(state, user, id).await) });
    let add = endpoint!(POST, "api" / "groups" / i64 / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<GroupMembersRequest>(&state))
        .then(|id, state, user, req| async move {
            into_response(add_members(state, user, id, req).await)
        });
    let take_out = endpoint!(DELETE, "api" / "groups" / i64 / "members" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|id, member, state, user| async move {
            into_response(remove_member(state, user, id, member).await)
        });
    create
        .or(list)
        .unify()
        .or(show)
        .unify()
        .or(rename)
        .unify()
        .or(delete)
        .unify()
        .or(add)
        .unify()
        .or(take_out)
        .unify()
}

fn parse_name(raw: &str) -> Result<GroupName, ApiError> {
    GroupName::parse(raw).map_err(|e| ApiError::bad_request("invalid_name", e.to_string()))
}

fn no_group(id: i64) -> ApiError {
    ApiError::not_found(format!("no group {id} in your church"))
}

fn refusal(id: i64, e: GroupError) -> ApiError {
    match e {
        GroupError::NameTaken => ApiError::new(StatusCode::CONFLICT, "name_taken", e.to_string()),
        GroupError::NoGroup => no_group(id),
        GroupError::UnknownMembers(ids) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_members",
            format!("these members do not exist in your church: {ids:?}"),
        ),
        GroupError::Db(e) => e.into(),
    }
}

#[utoipa::path(post, path = "/api/groups", tag = "groups", operation_id = "createGroup",
    security(("bearer" = [])),
    request_body = GroupRequest,
    responses(
        (status = 201, description = "The new group, empty", body = Group),
        (status = 400, description = "A bad name or body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`name_taken`: the church has a group called that", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, req: GroupRequest) -> ApiResult {
    let name = parse_name(&req.name)?;
    let group = groups::create(&state.pool, user.church()?, &name)
        .await
        .map_err(|e| refusal(0, e))?;
    Ok(json_reply(StatusCode::CREATED, &group))
}

#[utoipa::path(get, path = "/api/groups", tag = "groups", operation_id = "listGroups",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The church's groups by name, with how many members each has",
            body = GroupList),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser) -> ApiResult {
    let groups = groups::list(&state.pool, user.church()?).await?;
    Ok(json_reply(StatusCode::OK, &GroupList { groups }))
}

#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups", operation_id = "getGroup",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The group and its members' ids", body = GroupDetail),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such group in the church", body = ErrorBody),
    ))]
async fn show(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    let church = user.church()?;
    let group = groups::find(&state.pool, church, id)
        .await?
        .ok_or_else(|| no_group(id))?;
    let member_ids = groups::member_ids(&state.pool, church, id).await?;
    Ok(json_reply(
        StatusCode::OK,
        &GroupDetail {
            id: group.id,
            name: group.name,
            member_count: group.member_count,
            created_at: group.created_at,
            member_ids,
        },
    ))
}

#[utoipa::path(patch, path = "/api/groups/{id}", tag = "groups", operation_id = "renameGroup",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = GroupRequest,
    responses(
        (status = 200, description = "The group after the change", body = Group),
        (status = 400, description = "A bad name or body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such group in the church", body = ErrorBody),
        (status = 409, description = "`name_taken`: the church has a group called that", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn rename(state: AppState, user: AuthUser, id: i64, req: GroupRequest) -> ApiResult {
    let name = parse_name(&req.name)?;
    let group = groups::rename(&state.pool, user.church()?, id, &name)
        .await
        .map_err(|e| refusal(id, e))?;
    Ok(json_reply(StatusCode::OK, &group))
}

#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", operation_id = "deleteGroup",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted; its members stay members"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such group in the church", body = ErrorBody),
    ))]
async fn delete(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    if !groups::delete(&state.pool, user.church()?, id).await? {
        return Err(no_group(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/groups/{id}/members", tag = "groups",
    operation_id = "addGroupMembers",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = GroupMembersRequest,
    responses(
        (status = 200, description = "The group after adding them (those already in it stay)",
            body = Group),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such group in the church", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`unknown_members`: nothing was added", body = ErrorBody),
    ))]
async fn add_members(
    state: AppState,
    user: AuthUser,
    id: i64,
    req: GroupMembersRequest,
) -> ApiResult {
    if req.member_ids.is_empty() || req.member_ids.len() > MAX_MEMBER_IDS {
        return Err(ApiError::bad_request(
            "invalid_members",
            format!("memberIds must hold 1 to {MAX_MEMBER_IDS} ids"),
        ));
    }
    let group = groups::add_members(&state.pool, user.church()?, id, &req.member_ids)
        .await
        .map_err(|e| refusal(id, e))?;
    Ok(json_reply(StatusCode::OK, &group))
}

#[utoipa::path(delete, path = "/api/groups/{id}/members/{memberId}", tag = "groups",
    operation_id = "removeGroupMember",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("memberId" = i64, Path)),
    responses(
        (status = 204, description = "Out of the group (or was not in it); still a member"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such group in the church", body = ErrorBody),
    ))]
async fn remove_member(state: AppState, user: AuthUser, id: i64, member_id: i64) -> ApiResult {
    if !groups::remove_member(&state.pool, user.church()?, id, member_id).await? {
        return Err(no_group(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
