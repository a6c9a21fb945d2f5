//! `POST /api/members` and `GET /api/members`: the people of the caller's church.

use crate::http::registry::endpoint;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::fields::{self, Fields, FieldsQuery};
use crate::auth::{AuthUser, bearer};
use crate::db::members;
use crate::domain::PhoneNumber;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// 1 to 200 characters, no control characters.
    name: String,
    /// E.164, e.g. `+442071838750`.
    phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    #[schema(value_type = Vec<members::Member>)]
    members: serde_json::Value,
}

const MAX_NAME_LEN: usize = 200;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let create = endpoint!(POST, "api" / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(json_body::<NewMember>(&state))
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = endpoint!(GET, "api" / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(warp::query::<FieldsQuery>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    create.or(list).unify()
}

#[utoipa::path(post, path = "/api/members", tag = "members", operation_id = "createMember",
    security(("bearer" = [])),
    request_body = NewMember,
    responses(
        (status = 201, description = "The new member", body = members::Member),
        (status = 400, description = "Invalid name or phone, or a bad body", body = ErrorBody),
        (status = 409, description = "A member with this phone exists", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, req: NewMember) -> ApiResult {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!("name must be 1 to {MAX_NAME_LEN} characters without control characters"),
        ));
    }
    let phone = PhoneNumber::parse(req.phone.trim())
        .map_err(|e| ApiError::bad_request("invalid_phone", e.to_string()))?;
    match members::create(&state.pool, user.church_id, name, &phone).await {
        Ok(member) => Ok(json_reply(StatusCode::CREATED, &member)),
        Err(e) if e.is_unique_violation() => Err(ApiError::new(
            StatusCode::CONFLICT,
            "member_exists",
            format!("a member with phone {phone} already exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/members", tag = "members", operation_id = "listMembers",
    security(("bearer" = [])),
    params(FieldsQuery),
    responses(
        (status = 200, description = "Every member of the caller's church; items keep only \
            `fields` when given", body = MemberList),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, query: FieldsQuery) -> ApiResult {
    let fields = Fields::parse(query.fields.as_deref(), fields::of::<members::Member>)?;
    let members = members::list(&state.pool, user.church_id).await?;
    Ok(json_reply(
        StatusCode::OK,
        &MemberList {
            members: fields.project_all(&members)?,
        },
    ))
}
