//! Who is calling: password login, JWTs, and the warp filter that authenticates requests.

pub mod jwt;
pub mod password;

use warp::Filter;

use crate::domain::Role;
use crate::error::ApiError;
pub use jwt::{Claims, JwtKeys};

/// The authenticated caller of a request or socket.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: i64,
    pub church_id: i64,
    pub role: Role,
}

impl AuthUser {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this needs the admin role"))
        }
    }
}

/// Extracts the caller from `Authorization: Bearer <jwt>`.
pub fn bearer(
    keys: JwtKeys,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let keys = keys.clone();
        async move {
            let header = header.ok_or_else(|| {
                warp::reject::custom(ApiError::unauthorized("missing Authorization header"))
            })?;
            let token = bearer_token(&header).ok_or_else(|| {
                warp::reject::custom(ApiError::unauthorized(
                    "Authorization must be 'Bearer <token>'",
                ))
            })?;
            keys.authenticate(token).map_err(warp::reject::custom)
        }
    })
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
}
