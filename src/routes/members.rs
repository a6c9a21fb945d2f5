//! `POST /api/members` and `GET /api/members`: the people of the caller's church.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_body, json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::db::members;
use crate::domain::PhoneNumber;
use crate::error::{ApiError, ApiResult, into_response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    name: String,
    phone: String,
}

const MAX_NAME_LEN: usize = 200;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let base = warp::path!("api" / "members")
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()));
    let create = base
        .clone()
        .and(warp::post())
        .and(json_body::<NewMember>())
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = base
        .and(warp::get())
        .then(|state, user| async move { into_response(list(state, user).await) });
    create.or(list).unify()
}

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

async fn list(state: AppState, user: AuthUser) -> ApiResult {
    let members = members::list(&state.pool, user.church_id).await?;
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "members": members }),
    ))
}
