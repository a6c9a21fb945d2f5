//! `POST /api/auth/login`: email and password for a token. Unknown email and wrong password get
//! the same answer in about the same time. Attempts are limited per client IP and per email
//! address, with lock-outs that grow while the guessing goes on.

use crate::http::registry::endpoint;
use std::net::IpAddr;

use belfry_actors::limiter::LimitKey;

use crate::limits::http::{client_ip, with_headers};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{TokenSubject, password};
use crate::db::{sign_in_addresses, users};
use crate::domain::{EmailAddress, Role};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;
use belfry_actors::ports::Audience;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(schema_with = crate::http::schema::nonempty_free_text)]
    email: String,
    #[schema(schema_with = crate::http::schema::free_text)]
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    token: String,
    expires_at: String,
    user: UserView,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: i64,
    /// `null` for an operator who belongs to no church.
    church_id: Option<i64>,
    role: Role,
    name: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(POST, "api" / "auth" / "login")
        .and(with_state(state.clone()))
        .and(client_ip(&state.limits))
        .and(json_body::<LoginRequest>(&state))
        .then(limited_login)
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A bearer token for the API and sockets", body = LoginResponse),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Unknown email or wrong password (the same answer)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "Too many attempts from this address, or for this account \
            from this address (the lock-outs grow while attempts go on), or for this account \
            from everywhere", body = ErrorBody),
    ))]
async fn limited_login(state: AppState, client: Option<IpAddr>, req: LoginRequest) -> Response {
    let limits = &state.limits;
    let by_ip = match client {
        Some(ip) => {
            limits
                .check(client, LimitKey::Ip(ip), limits.config().login_ip)
                .await
        }
        None => Ok(None),
    };
    let by_ip = match by_ip {
        Ok(decision) => decision,
        Err(refused) => return refused.into_response(),
    };
    // OWASP: an account is throttled per address it is tried from, so that guesses from
    // elsewhere cannot lock its owner out; across addresses only a high ceiling applies.
    let (by_email, by_account) = match EmailAddress::parse(&req.email) {
        Ok(email) => {
            let email = email.as_str().to_lowercase();
            let config = limits.config();
            // Without a client address (no connection to read it from) only the ceiling counts.
            let by_email = match client {
                Some(ip) => {
                    let at = LimitKey::EmailAt {
                        email: email.clone(),
                        ip,
                    };
                    match limits.check(client, at, config.login_email).await {
                        Ok(decision) => decision,
                        Err(refused) => {
                            return with_headers(refused.into_response(), by_ip.as_ref());
                        }
                    }
                }
                None => None,
            };
            let key = LimitKey::Email(email);
            match limits.check(client, key, config.login_account).await {
                Ok(decision) => (by_email, decision),
                Err(refused) => {
                    let counted = by_ip.iter().chain(by_email.iter());
                    return with_headers(refused.into_response(), counted);
                }
            }
        }
        Err(_) => (None, None),
    };
    let response = into_response(login(state.clone(), client, req).await);
    let counted = by_ip.iter().chain(by_email.iter()).chain(by_account.iter());
    with_headers(response, counted)
}

fn refused() -> ApiError {
    ApiError::unauthorized("invalid email or password")
}

async fn login(state: AppState, client: Option<IpAddr>, req: LoginRequest) -> ApiResult {
    if req.password.len() > password::MAX_PASSWORD_LEN {
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
    // Told apart only after the password is right: the answer says nothing to a guesser.
    if user.disabled_at.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "this account is disabled",
        ));
    }
    if let Some(address) = client {
        tell_of_new_address(&state, &user, &address.to_string()).await;
    }
    token_reply(&state, user)
}

/// Tells the user of a sign-in from an address their account was never used from. Not knowing
/// (the database failing) does not stop the sign-in.
async fn tell_of_new_address(state: &AppState, user: &users::UserRow, address: &str) {
    match sign_in_addresses::record(&state.pool, user.id, address).await {
        Ok(true) => state.system.directory().notify(
            Audience::Users(vec![user.id]),
            crate::notices::new_sign_in(user.church_id, address),
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(user = user.id, error = %e, "cannot record a sign-in's address"),
    }
}

/// A fresh token for `user` as the store has them now, answered as a login is.
pub(super) fn token_reply(state: &AppState, user: users::UserRow) -> ApiResult {
    let subject = TokenSubject::of(&user)?;
    let role = subject.role;
    let minted = state.auth.keys.mint(&subject).map_err(ApiError::internal)?;
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
