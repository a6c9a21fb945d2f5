//! JWTs: minted at login, required on every API call and socket. Validation requires `exp`,
//! `iss` and `aud` and accepts only the configured algorithm, so `alg: none` and tokens signed
//! with another key or algorithm are refused.
//!
//! A signature only says who the token was given to. Whether that user may still use it (not
//! disabled, not signed out, same church and role) is `standing`'s to say on every request.
//!
//! A token that passed is remembered until it expires: a client sends the same token with
//! every request, and a request is checked twice (by the rate limit, then by its route), so
//! most checks become one lookup instead of a signature and a JSON parse.

use std::sync::Arc;

use dashmap::DashMap;

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::{AuthUser, TokenRef};
use crate::config::JwtConfig;
use crate::db::DbError;
use crate::db::users::UserRow;
use crate::domain::Role;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    /// `None` for an operator who belongs to no church.
    pub church_id: Option<i64>,
    pub role: Role,
    /// The user's token version when the token was minted; a password change moves it on.
    pub token_version: i32,
    /// The token's own id, by which signing out revokes it.
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Clone)]
pub struct JwtKeys {
    inner: Arc<Inner>,
}

struct Inner {
    config: JwtConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Tokens already verified, with their user and expiry.
    verified: DashMap<Box<str>, (AuthUser, i64)>,
}

/// How far clocks may disagree, in seconds, for `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 5;

/// Tokens remembered at most; the memory is forgotten as a whole when it fills (a few MB).
const MAX_VERIFIED: usize = 10_000;

/// Who a new token is for, as the store has them now.
pub struct TokenSubject {
    pub user_id: i64,
    pub church_id: Option<i64>,
    pub role: Role,
    pub token_version: i32,
}

impl TokenSubject {
    /// The user as the store has them now.
    pub fn of(user: &UserRow) -> Result<Self, DbError> {
        Ok(Self {
            user_id: user.id,
            church_id: user.church_id,
            role: user.role()?,
            token_version: user.token_version,
        })
    }
}

/// 128 random bits, hex: unguessable and unique enough to name one token.
fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct MintedToken {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl JwtKeys {
    pub fn new(config: JwtConfig) -> Self {
        let mut validation = Validation::new(config.algorithm);
        validation.algorithms = vec![config.algorithm];
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            inner: Arc::new(Inner {
                encoding: EncodingKey::from_secret(&config.secret),
                decoding: DecodingKey::from_secret(&config.secret),
                validation,
                config,
                verified: DashMap::new(),
            }),
        }
    }

    pub fn mint(&self, subject: &TokenSubject) -> Result<MintedToken, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(self.inner.config.ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        let expires_at = now + ttl;
        let claims = Claims {
            sub: subject.user_id.to_string(),
            church_id: subject.church_id,
            role: subject.role,
            token_version: subject.token_version,
            jti: random_id(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.inner.config.issuer.clone(),
            aud: self.inner.config.audience.clone(),
        };
        let token = encode(
            &Header::new(self.inner.config.algorithm),
            &claims,
            &self.inner.encoding,
        )?;
        Ok(MintedToken { token, expires_at })
    }

    pub fn authenticate(&self, token: &str) -> Result<AuthUser, ApiError> {
        self.authenticate_until(token).map(|(user, _)| user)
    }

    /// Checks a token and tells when it expires (`exp`, seconds since the Unix epoch).
    pub fn authenticate_until(&self, token: &str) -> Result<(AuthUser, i64), ApiError> {
        let verified = &self.inner.verified;
        if let Some(entry) = verified.get(token) {
            let (user, exp) = entry.value().clone();
            // Expired: checked again below, which refuses it (or accepts it within the leeway).
            if exp > chrono::Utc::now().timestamp() {
                return Ok((user, exp));
            }
        }
        let (user, exp) = self.verify(token)?;
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(token.into(), (user.clone(), exp));
        Ok((user, exp))
    }

    fn verify(&self, token: &str) -> Result<(AuthUser, i64), ApiError> {
        let data =
            decode::<Claims>(token, &self.inner.decoding, &self.inner.validation).map_err(|e| {
                tracing::debug!(error = %e, "token refused");
                ApiError::unauthorized("invalid or expired token")
            })?;
        let claims = data.claims;
        // `iat` is not checked by the library: a token "issued" in the future was not ours.
        if claims.iat > chrono::Utc::now().timestamp() + LEEWAY_SECS as i64 {
            return Err(ApiError::unauthorized("invalid or expired token"));
        }
        let user_id = claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
        let user = AuthUser {
            user_id,
            church_id: claims.church_id,
            role: claims.role,
            token: TokenRef {
                jti: claims.jti.into(),
                version: claims.token_version,
                expires: claims.exp,
            },
        };
        Ok((user, claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::Algorithm;

    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(JwtConfig {
            secret: secret.as_bytes().to_vec(),
            algorithm: Algorithm::HS256,
            issuer: "belfry".into(),
            audience: "belfry-api".into(),
            ttl: Duration::from_secs(60),
        })
    }

    fn subject() -> TokenSubject {
        TokenSubject {
            user_id: 7,
            church_id: Some(3),
            role: Role::Staff,
            token_version: 2,
        }
    }

    /// A token with these claims, signed with the right key.
    fn signed(k: &JwtKeys, edit: impl FnOnce(&mut Claims)) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = Claims {
            sub: "7".into(),
            church_id: Some(3),
            role: Role::Staff,
            token_version: 0,
            jti: random_id(),
            iat: now,
            nbf: now,
            exp: now + 60,
            iss: "belfry".into(),
            aud: "belfry-api".into(),
        };
        edit(&mut claims);
        encode(&Header::new(Algorithm::HS256), &claims, &k.inner.encoding).unwrap()
    }

    #[test]
    fn tokens_from_the_future_are_refused() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let later = chrono::Utc::now().timestamp() + 120;
        assert!(k.authenticate(&signed(&k, |_| {})).is_ok());
        assert!(
            k.authenticate(&signed(&k, |c| c.nbf = later)).is_err(),
            "nbf"
        );
        assert!(
            k.authenticate(&signed(&k, |c| c.iat = later)).is_err(),
            "iat"
        );
        // Within the leeway of a clock a little ahead.
        let soon = chrono::Utc::now().timestamp() + 2;
        assert!(k.authenticate(&signed(&k, |c| c.iat = soon)).is_ok());
    }

    #[test]
    fn round_trips_and_refuses_other_keys_and_alg_none() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let minted = k.mint(&subject()).unwrap();
        let user = k.authenticate(&minted.token).unwrap();
        assert_eq!(
            (user.user_id, user.church_id, user.role, user.token.version),
            (7, Some(3), Role::Staff, 2)
        );
        assert_eq!(user.token.jti.len(), 32);
        let again = k.mint(&subject()).unwrap();
        assert_ne!(
            k.authenticate(&again.token).unwrap().token.jti,
            user.token.jti
        );

        let other = keys("another secret of at least 32 bytes!");
        assert!(other.authenticate(&minted.token).is_err());

        let payload = minted.token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.authenticate(&format!("{header}.{payload}.")).is_err());
    }

    #[test]
    fn a_remembered_token_does_not_vouch_for_a_changed_one() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let minted = k.mint(&subject()).unwrap();
        assert!(k.authenticate(&minted.token).is_ok());
        assert!(k.authenticate(&minted.token).is_ok(), "again, from memory");
        // The same claims with the role changed and the old signature.
        let parts: Vec<&str> = minted.token.split('.').collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(claims.replace("\"staff\"", "\"admin\""));
        let forged = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert!(k.authenticate(&forged).is_err());
    }
}
