//! Whether a validly signed token still lets its user in. A signature outlives what it vouched
//! for: the user may since have been disabled, demoted, moved, signed that token out or changed
//! their password. Every request's caller is checked against the store; the answer is kept for
//! at most [`FRESH_FOR`], so a busy user costs one small query every few seconds, and this
//! process forgets it at once when it makes the change itself.
//!
//! The rule (one home): a missing or disabled account, another church than the token's, a
//! signed-out token or one minted before the last password change is refused (`401`); a role
//! lowered since the token was minted applies at once (so admin routes answer `403`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::AuthUser;
use crate::db::{DbPool, users};
use crate::domain::Role;
use crate::error::ApiError;

/// How long an account's standing is trusted before it is read again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// Accounts remembered at most; forgotten as a whole when it fills.
const MAX_REMEMBERED: usize = 50_000;

/// What the store says about a user now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub church_id: Option<i64>,
    pub role: Role,
    pub disabled: bool,
    pub token_version: i32,
    /// Signed-out token ids, unexpired.
    pub revoked: Vec<Box<str>>,
}

/// Why a signed token no longer lets its user in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoSuchUser,
    Disabled,
    OtherChurch,
    SignedOut,
    PasswordChanged,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::NoSuchUser => "this account no longer exists",
            Self::Disabled => "this account is disabled",
            Self::OtherChurch => "this token is for another church than the account's",
            Self::SignedOut => "this token was signed out",
            Self::PasswordChanged => {
                "the password changed since this token was issued; sign in again"
            }
        }
    }
}

/// The caller a token's claims make, given the account as it stands.
pub fn judge(claimed: &AuthUser, standing: Option<&Standing>) -> Result<AuthUser, Refusal> {
    let standing = standing.ok_or(Refusal::NoSuchUser)?;
    if standing.disabled {
        return Err(Refusal::Disabled);
    }
    if standing.church_id != claimed.church_id {
        return Err(Refusal::OtherChurch);
    }
    if standing.token_version != claimed.token.version {
        return Err(Refusal::PasswordChanged);
    }
    if standing
        .revoked
        .iter()
        .any(|jti| **jti == *claimed.token.jti)
    {
        return Err(Refusal::SignedOut);
    }
    let mut user = claimed.clone();
    // A token never grants more than the account has now.
    user.role = claimed.role.min(standing.role);
    Ok(user)
}

pub struct Standings {
    pool: DbPool,
    remembered: DashMap<i64, (Instant, Option<Arc<Standing>>)>,
}

impl Standings {
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            remembered: DashMap::new(),
        }
    }

    /// The caller, if the account still lets the token in.
    pub async fn admit(&self, claimed: AuthUser) -> Result<AuthUser, ApiError> {
        let standing = self.current(claimed.user_id).await?;
        judge(&claimed, standing.as_deref())
            .map_err(|refusal| ApiError::unauthorized(refusal.message()))
    }

    /// The standing, from memory while it is fresh.
    pub async fn current(&self, user_id: i64) -> Result<Option<Arc<Standing>>, ApiError> {
        if let Some(entry) = self.remembered.get(&user_id)
            && entry.0.elapsed() < FRESH_FOR
        {
            return Ok(entry.1.clone());
        }
        self.reload(user_id).await
    }

    /// The standing as the store has it now.
    pub async fn reload(&self, user_id: i64) -> Result<Option<Arc<Standing>>, ApiError> {
        let read_at = Instant::now();
        let row = users::standing(&self.pool, user_id).await.map_err(|e| {
            tracing::warn!(error = %e, user_id, "cannot check an account's standing");
            ApiError::unavailable("cannot check the account now; try again")
        })?;
        let standing = match row {
            Some(row) => Some(Arc::new(Standing {
                church_id: row.church_id,
                role: Role::parse(&row.role).ok_or_else(|| {
                    ApiError::internal(format!("user {user_id} has an unknown role"))
                })?,
                disabled: row.disabled,
                token_version: row.token_version,
                revoked: row.revoked.into_iter().map(Into::into).collect(),
            })),
            None => None,
        };
        if self.remembered.len() >= MAX_REMEMBERED {
            self.remembered.clear();
        }
        self.remembered.insert(user_id, (read_at, standing.clone()));
        Ok(standing)
    }

    /// Forgets what is remembered of a user, whose standing just changed.
    pub fn forget(&self, user_id: i64) {
        self.remembered.remove(&user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenRef;

    fn claimed(role: Role) -> AuthUser {
        AuthUser {
            user_id: 7,
            church_id: Some(3),
            role,
            token: TokenRef {
                jti: "abc".into(),
                version: 1,
                expires: 0,
            },
        }
    }

    fn standing() -> Standing {
        Standing {
            church_id: Some(3),
            role: Role::Admin,
            disabled: false,
            token_version: 1,
            revoked: vec!["other".into()],
        }
    }

    #[test]
    fn an_account_that_changed_refuses_its_old_tokens() {
        let user = claimed(Role::Admin);
        assert_eq!(judge(&user, Some(&standing())).unwrap().role, Role::Admin);
        assert_eq!(judge(&user, None).unwrap_err(), Refusal::NoSuchUser);
        type Change = fn(&mut Standing);
        let cases: [(Change, Refusal); 4] = [
            (|s| s.disabled = true, Refusal::Disabled),
            (|s| s.church_id = Some(4), Refusal::OtherChurch),
            (|s| s.token_version = 2, Refusal::PasswordChanged),
            (|s| s.revoked.push("abc".into()), Refusal::SignedOut),
        ];
        for (change, refusal) in cases {
            let mut s = standing();
            change(&mut s);
            assert_eq!(judge(&user, Some(&s)).unwrap_err(), refusal);
        }
    }

    #[test]
    fn a_token_never_grants_more_than_the_account_has_now() {
        let mut demoted = standing();
        demoted.role = Role::Staff;
        assert_eq!(
            judge(&claimed(Role::Admin), Some(&demoted)).unwrap().role,
            Role::Staff
        );
        // Promoted since: the token still says staff, and staff it stays until a new one.
        assert_eq!(
            judge(&claimed(Role::Staff), Some(&standing()))
                .unwrap()
                .role,
            Role::Staff
        );
    }
}
