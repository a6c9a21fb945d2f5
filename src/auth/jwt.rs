//! JWTs: minted at login, required on every API call and socket. Validation requires `exp`,
//! `iss` and `aud` and accepts only the configured algorithm, so `alg: none` and tokens signed
//! with another key or algorithm are refused.
//!
//! A token that passed is remembered until it expires: a client sends the same token with
//! every request, and a request is checked twice (by the rate limit, then by its route), so
//! most checks become one lookup instead of a signature and a JSON parse.

use std::sync::Arc;

use dashmap::DashMap;

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::AuthUser;
use crate::config::JwtConfig;
use crate::domain::Role;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub church_id: i64,
    pub role: Role,
    pub iat: i64,
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

/// Tokens remembered at most; the memory is forgotten as a whole when it fills (a few MB).
const MAX_VERIFIED: usize = 10_000;

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
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 5;
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

    pub fn mint(
        &self,
        user_id: i64,
        church_id: i64,
        role: Role,
    ) -> Result<MintedToken, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(self.inner.config.ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        let expires_at = now + ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            church_id,
            role,
            iat: now.timestamp(),
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
        let user_id = data
            .claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
        let user = AuthUser {
            user_id,
            church_id: data.claims.church_id,
            role: data.claims.role,
        };
        Ok((user, data.claims.exp))
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

    #[test]
    fn round_trips_and_refuses_other_keys_and_alg_none() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let minted = k.mint(7, 3, Role::Staff).unwrap();
        let user = k.authenticate(&minted.token).unwrap();
        assert_eq!(
            (user.user_id, user.church_id, user.role),
            (7, 3, Role::Staff)
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
        let minted = k.mint(7, 3, Role::Staff).unwrap();
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
