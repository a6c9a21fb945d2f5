//! A signed-in user's own account: who they are and their name (`/api/me`), sign out (the
//! token stops working everywhere), swap a token for a fresh one, change the password (every
//! older token stops working).

use belfry_actors::ports::Audience;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::auth::{LoginResponse, token_reply};
use crate::auth::{AuthUser, bearer, password};
use crate::db::users;
use crate::domain::{PersonName, PhoneNumber, Role};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply};
use crate::state::{AppState, with_state};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordChange {
    #[schema(schema_with = crate::http::schema::free_text)]
    current_password: String,
    #[schema(schema_with = crate::http::schema::password)]
    new_password: String,
}

/// The token is signed out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    signed_out: bool,
}

/// The signed-in user, as they see themselves.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    id: i64,
    /// `null` for an operator, who belongs to no church.
    church_id: Option<i64>,
    role: Role,
    name: String,
    email: String,
    /// Their own number for notifications by SMS; `null` until they set one.
    phone: Option<String>,
}

impl Me {
    fn of(row: users::UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row.role()?,
            id: row.id,
            church_id: row.church_id,
            name: row.name,
            email: row.email,
            phone: row.phone,
        })
    }
}

/// What a user may change about themselves; what is left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyChanges {
    #[serde(default)]
    #[schema(schema_with = crate::http::schema::person_name_or_null)]
    name: Option<String>,
    /// Their own number for notifications by SMS (E.164), or `null` to remove it.
    #[serde(default, deserialize_with = "crate::http::body::present")]
    #[schema(schema_with = crate::http::schema::phone_or_null)]
    phone: Option<Option<String>>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let caller = with_state(state.clone()).and(bearer(state.auth.clone()));
    let me = endpoint!(GET, "api" / "me")
        .and(caller.clone())
        .then(|state, user| async move { into_response(me(state, user).await) });
    let rename = endpoint!(PATCH, "api" / "me")
        .and(caller.clone())
        .and(json_body::<MyChanges>(&state))
        .then(|state, user, req| async move { into_response(rename(state, user, req).await) });
    let logout = endpoint!(POST, "api" / "auth" / "logout")
        .and(caller.clone())
        .then(|state, user| async move { into_response(logout(state, user).await) });
    let refresh = endpoint!(POST, "api" / "auth" / "refresh")
        .and(caller.clone())
        .then(|state, user| async move { into_response(refresh(state, user).await) });
    let password =
        endpoint!(POST, "api" / "auth" / "password")
            .and(caller)
            .and(json_body::<PasswordChange>(&state))
            .then(|state, user, req| async move {
                into_response(change_password(state, user, req).await)
            });
    me.or(rename)
        .unify()
        .or(logout)
        .unify()
        .or(refresh)
        .unify()
        .or(password)
        .unify()
}

#[utoipa::path(get, path = "/api/me", tag = "auth", operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, body = ErrorBody),
    ))]
async fn me(state: AppState, user: AuthUser) -> ApiResult {
    let row = users::find(&state.pool, user.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    Ok(json_reply(StatusCode::OK, &Me::of(row)?))
}

#[utoipa::path(patch, path = "/api/me", tag = "auth", operation_id = "updateMe",
    security(("bearer" = [])),
    request_body = MyChanges,
    responses(
        (status = 200, description = "The user after the change", body = Me),
        (status = 400, description = "`invalid_name`: not 1 to 200 characters, or control \
            characters; `invalid_phone`: not E.164", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn rename(state: AppState, user: AuthUser, req: MyChanges) -> ApiResult {
    // Both are checked before either is stored.
    let name = req
        .name
        .map(|raw| {
            PersonName::parse(&raw)
                .map_err(|e| ApiError::bad_request("invalid_name", format!("name: {e}")))
        })
        .transpose()?;
    let phone = req
        .phone
        .map(|raw| {
            raw.map(|p| {
                PhoneNumber::parse(&p)
                    .map_err(|e| ApiError::bad_request("invalid_phone", format!("phone: {e}")))
            })
            .transpose()
        })
        .transpose()?;
    let gone = || ApiError::unauthorized("this account no longer exists");
    if let Some(name) = name {
        users::rename(&state.pool, user.user_id, name.as_str())
            .await?
            .ok_or_else(gone)?;
    }
    if let Some(phone) = phone {
        users::set_phone(
            &state.pool,
            user.user_id,
            phone.as_ref().map(|p| p.as_str()),
        )
        .await?
        .ok_or_else(gone)?;
    }
    let row = users::find(&state.pool, user.user_id)
        .await?
        .ok_or_else(gone)?;
    Ok(json_reply(StatusCode::OK, &Me::of(row)?))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token no longer works, on any node; sockets opened \
            with it are closed (`4003`) within seconds", body = SignedOut),
        (status = 401, body = ErrorBody),
    ))]
async fn logout(state: AppState, user: AuthUser) -> ApiResult {
    let expires =
        chrono::DateTime::from_timestamp(user.token.expires, 0).unwrap_or_else(chrono::Utc::now);
    users::revoke_token(&state.pool, user.user_id, &user.token.jti, expires).await?;
    state.auth.standings.forget(user.user_id);
    Ok(json_reply(StatusCode::OK, &SignedOut { signed_out: true }))
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", operation_id = "refreshToken",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A fresh token with a full lifetime, for the account as it \
            is now; the old one keeps working until it expires or is signed out", body = LoginResponse),
        (status = 401, body = ErrorBody),
    ))]
async fn refresh(state: AppState, user: AuthUser) -> ApiResult {
    let row = users::find(&state.pool, user.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    token_reply(&state, row)
}

#[utoipa::path(post, path = "/api/auth/password", tag = "auth", operation_id = "changePassword",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "The password changed; every token issued before stops \
            working and a fresh one is returned", body = LoginResponse),
        (status = 400, description = "The new password is too short or too long", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn change_password(state: AppState, user: AuthUser, req: PasswordChange) -> ApiResult {
    password::check_length(&req.new_password)
        .map_err(|e| ApiError::bad_request("invalid_password", format!("newPassword: {e}")))?;
    if req.current_password.len() > password::MAX_PASSWORD_LEN {
        return Err(wrong_password());
    }
    let row = users::find(&state.pool, user.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    if !password::verify(req.current_password, Some(row.password_hash.clone())).await {
        return Err(wrong_password());
    }
    let hash = password::hash(req.new_password)
        .await
        .map_err(ApiError::internal)?;
    let token_version = users::set_password(&state.pool, user.user_id, &hash).await?;
    state.auth.standings.forget(user.user_id);
    tracing::info!(
        user = user.user_id,
        "password changed; older tokens revoked"
    );
    state.system.directory().notify(
        Audience::Users(vec![user.user_id]),
        crate::notices::password_changed(user.church_id),
    );
    token_reply(
        &state,
        users::UserRow {
            token_version,
            password_hash: hash,
            ..row
        },
    )
}

fn wrong_password() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong_password",
        "the current password is wrong",
    )
}
