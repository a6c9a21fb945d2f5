//! Telnyx webhook signatures: Ed25519 over `"{telnyx-timestamp}|{raw body}"`, base64 in
//! `telnyx-signature-ed25519`, rejected when the timestamp is too far from now either way.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing telnyx-signature-ed25519 or telnyx-timestamp header")]
    MissingHeaders,
    #[error("telnyx-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("telnyx-timestamp is outside the allowed window")]
    StaleTimestamp,
    #[error("telnyx-signature-ed25519 is not a base64 Ed25519 signature")]
    MalformedSignature,
    #[error("signature does not match")]
    Mismatch,
}

#[derive(Debug, thiserror::Error)]
#[error("not a base64 32-byte Ed25519 public key")]
pub struct InvalidPublicKey;

#[derive(Clone)]
pub struct WebhookVerifier {
    key: VerifyingKey,
    tolerance: Duration,
}

impl WebhookVerifier {
    pub fn new(key: VerifyingKey, tolerance: Duration) -> Self {
        Self { key, tolerance }
    }

    pub fn from_base64(public_key: &str, tolerance: Duration) -> Result<Self, InvalidPublicKey> {
        let bytes = BASE64
            .decode(public_key.trim())
            .map_err(|_| InvalidPublicKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| InvalidPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| InvalidPublicKey)?;
        Ok(Self::new(key, tolerance))
    }

    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(SignatureError::MissingHeaders);
        };
        if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignatureError::BadTimestamp);
        }
        let sent_at: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::BadTimestamp)?;
        if now_unix.abs_diff(sent_at) > self.tolerance.as_secs() {
            return Err(SignatureError::StaleTimestamp);
        }
        let raw = BASE64
            .decode(signature.trim())
            .map_err(|_| SignatureError::MalformedSignature)?;
        let signature =
            Signature::from_slice(&raw).map_err(|_| SignatureError::MalformedSignature)?;
        let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
        signed.extend_from_slice(timestamp.as_bytes());
        signed.push(b'|');
        signed.extend_from_slice(body);
        self.key
            .verify_strict(&signed, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Signs webhooks the way Telnyx does; used by the sandbox carrier.
pub struct WebhookSigner {
    key: SigningKey,
}

impl WebhookSigner {
    pub fn generate() -> Self {
        let secret: [u8; 32] = rand::random();
        Self {
            key: SigningKey::from_bytes(&secret),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The value of `telnyx-signature-ed25519` for this timestamp and body.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut signed = format!("{timestamp}|").into_bytes();
        signed.extend_from_slice(body);
        BASE64.encode(self.key.sign(&signed).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (WebhookSigner, WebhookVerifier) {
        let signer = WebhookSigner::generate();
        let verifier = WebhookVerifier::new(signer.verifying_key(), Duration::from_secs(300));
        (signer, verifier)
    }

    #[test]
    fn accepts_a_fresh_signature_over_the_exact_bytes() {
        let (signer, verifier) = pair();
        let body = br#"{"data":{"id":"e1"}}"#;
        let sig = signer.sign(1_000_000, body);
        assert_eq!(
            verifier.verify(Some(&sig), Some("1000000"), body, 1_000_100),
            Ok(())
        );
        let respaced = br#"{"data": {"id":"e1"}}"#;
        assert_eq!(
            verifier.verify(Some(&sig), Some("1000000"), respaced, 1_000_100),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_stale_future_and_malformed() {
        let (signer, verifier) = pair();
        let body = b"{}";
        let sig = signer.sign(1_000_000, body);
        let check = |ts: &str, now| verifier.verify(Some(&sig), Some(ts), body, now);
        assert_eq!(
            check("1000000", 1_000_301),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(
            check("1000000", 999_699),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(
            check("-1000000", 1_000_000),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(check("1000001", 1_000_000), Err(SignatureError::Mismatch));
        assert_eq!(
            verifier.verify(Some("bm90IGEgc2ln"), Some("1000000"), body, 1_000_000),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            verifier.verify(None, Some("1000000"), body, 1_000_000),
            Err(SignatureError::MissingHeaders)
        );
    }
}
