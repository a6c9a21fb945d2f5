//! Who is calling: password login, JWTs, whether their account still lets them in, and the
//! warp filter that authenticates requests.

pub mod jwt;
pub mod open_sockets;
pub mod password;
pub mod standing;
pub mod standing_watch;

use std::sync::Arc;

use warp::Filter;

use crate::db::DbPool;
use crate::domain::Role;
use crate::error::ApiError;
pub use jwt::{Claims, JwtKeys, TokenSubject};
pub use open_sockets::OpenSockets;
pub use standing::Standings;

/// The authenticated caller of a request or socket.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: i64,
    /// `None` only for an operator who belongs to no church.
    pub church_id: Option<i64>,
    pub role: Role,
    pub token: TokenRef,
}

/// The token a caller came with: what signing out revokes and what a password change outdates.
#[derive(Debug, Clone)]
pub struct TokenRef {
    pub jti: Arc<str>,
    pub version: i32,
    /// `exp`, seconds since the Unix epoch.
    pub expires: i64,
}

impl AuthUser {
    /// Admins, and operators: what a church's admin may do.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role >= Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this needs the admin role"))
        }
    }

    /// Platform operators only: what reaches every church.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden("this needs the operator role"))
        }
    }

    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    /// The caller's church, for what only makes sense within one (an operator, who belongs to
    /// none, is refused: these routes take no `?churchId=`).
    pub fn church(&self) -> Result<i64, ApiError> {
        self.church_id.ok_or_else(|| {
            ApiError::forbidden(
                "this account belongs to no church; this route is for a church's staff and admins",
            )
        })
    }

    /// The church an admin view is about: the caller's own, or for operators any church they
    /// name with `?churchId=`. Anyone else naming a church other than theirs is refused.
    pub fn church_scope(&self, requested: Option<i64>) -> Result<i64, ApiError> {
        match requested {
            Some(church) if church < 1 => Err(ApiError::bad_request(
                "invalid_church",
                "churchId is a church's id: a positive integer",
            )),
            Some(church) if self.is_operator() || self.church_id == Some(church) => Ok(church),
            Some(_) => Err(ApiError::forbidden(
                "only operators may look at another church",
            )),
            None => self.church_id.ok_or_else(|| {
                ApiError::forbidden(
                    "this account belongs to no church; operators name one with ?churchId=",
                )
            }),
        }
    }
}

/// Everything needed to turn a bearer token into a caller: the keys, the accounts' standing,
/// and the open sockets to close when a standing changes.
#[derive(Clone)]
pub struct Authenticator {
    pub keys: JwtKeys,
    pub standings: Arc<Standings>,
    pub sockets: OpenSockets,
}

impl Authenticator {
    pub fn new(keys: JwtKeys, pool: DbPool) -> Self {
        Self {
            keys,
            standings: Arc::new(Standings::new(pool)),
            sockets: OpenSockets::default(),
        }
    }

    /// A user's standing changed: forget what was remembered, and close their open sockets
    /// here that it no longer allows. Returns how many were closed.
    pub async fn standing_changed(&self, user_id: i64) -> Result<usize, ApiError> {
        self.standings.forget(user_id);
        if !self.sockets.holds(user_id) {
            return Ok(0);
        }
        let standing = self.standings.reload(user_id).await?;
        Ok(self.sockets.enforce(user_id, standing.as_deref()))
    }

    /// A caller from a token: signed by us, unexpired, and still allowed by their account.
    pub async fn authenticate(&self, token: &str) -> Result<AuthUser, ApiError> {
        let claimed = self.keys.authenticate(token)?;
        self.standings.admit(claimed).await
    }
}

/// Extracts the caller from `Authorization: Bearer <jwt>`.
pub fn bearer(
    auth: Authenticator,
) -> impl Filter<Extract = (AuthUser,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let auth = auth.clone();
        async move {
            let header = header.ok_or_else(|| {
                warp::reject::custom(ApiError::unauthorized("missing Authorization header"))
            })?;
            let token = bearer_token(&header).ok_or_else(|| {
                warp::reject::custom(ApiError::unauthorized(
                    "Authorization must be 'Bearer <token>'",
                ))
            })?;
            auth.authenticate(token).await.map_err(warp::reject::custom)
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
