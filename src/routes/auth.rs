//! `POST /api/auth/login`: email and password for a token. Unknown email and wrong password get
//! the same answer in about the same time.

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_body, json_reply, with_state};
use crate::app::AppState;
use crate::auth::password;
use crate::db::users;
use crate::domain::{EmailAddress, Role};
use crate::error::{ApiError, ApiResult, into_response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    token: String,
    expires_at: String,
    user: UserView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    id: i64,
    church_id: i64,
    role: Role,
    name: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "auth" / "login")
        .and(warp::post())
        .and(with_state(state))
        .and(json_body::<LoginRequest>())
        .then(|state, req| async move { into_response(login(state, req).await) })
}

const MAX_PASSWORD_LEN: usize = 1024;

fn refused() -> ApiError {
    ApiError::unauthorized("invalid email or password")
}

async fn login(state: AppState, req: LoginRequest) -> ApiResult {
    if req.password.len() > MAX_PASSWORD_LEN {
        return Err(refused());
    }
    let user = match EmailAddress::parse(&req.email) {
        Ok(email) => users::find_by_email(&state.pool, &email).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(req.password, stored).await {
        return Err(refused());
    }
    let user = user.ok_or_else(refused)?;
    let role = Role::parse(&user.role).ok_or_else(|| ApiError::internal("bad role in database"))?;
    let minted = state
        .jwt
        .mint(user.id, user.church_id, role)
        .map_err(ApiError::internal)?;
    Ok(json_reply(
        StatusCode::OK,
        &LoginResponse {
            token: minted.token,
            expires_at: minted
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            user: UserView {
                id: user.id,
                church_id: user.church_id,
                role,
                name: user.name,
            },
        },
    ))
}
