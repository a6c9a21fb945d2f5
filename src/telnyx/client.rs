//! The Telnyx HTTP client: `POST {base}/v2/messages`, and the classification of its errors into
//! retryable and permanent.

use std::time::Duration;

use belfry_actors::ports::{FailureKind, OutboundSms, SendFailure};
use serde::{Deserialize, Serialize};

pub struct TelnyxGateway {
    http: reqwest::Client,
    messages_url: String,
    api_key: String,
    from: String,
    messaging_profile_id: Option<String>,
    webhook_url: String,
}

#[derive(Serialize)]
struct SendRequest<'a> {
    from: &'a str,
    to: &'a str,
    text: &'a str,
    webhook_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    messaging_profile_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct SendResponse {
    data: SendResponseData,
}

#[derive(Deserialize)]
struct SendResponseData {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// Telnyx codes that mean "later", whatever the HTTP status: API rate limit, queue full.
const RETRYABLE_CODES: &[&str] = &["10011", "40318"];
/// A reset hint longer than this is not believed.
const MAX_RESET_SECS: f64 = 3600.0;

/// The answers that mean this sender is going too fast.
pub fn is_throttle(status: u16, code: Option<&str>) -> bool {
    status == 429 || code.is_some_and(|c| RETRYABLE_CODES.contains(&c))
}

/// Blocked because the recipient replied STOP to this sender.
const RECIPIENT_OPTED_OUT: &str = "40300";

pub fn classify(status: u16, code: Option<&str>) -> FailureKind {
    let retryable_status = status == 408 || status == 429 || status >= 500;
    if retryable_status || code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
        FailureKind::Retryable
    } else if code == Some(RECIPIENT_OPTED_OUT) {
        FailureKind::RecipientOptedOut
    } else {
        FailureKind::Permanent
    }
}

impl TelnyxGateway {
    pub fn new(
        base_url: &str,
        api_key: String,
        from: String,
        messaging_profile_id: Option<String>,
        webhook_url: String,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(Self {
            http,
            messages_url: format!("{}/v2/messages", base_url.trim_end_matches('/')),
            api_key,
            from,
            messaging_profile_id,
            webhook_url,
        })
    }

    /// Sends one SMS: `POST {base}/v2/messages`; the carrier's message id, or what failed.
    pub async fn send_one(&self, sms: OutboundSms) -> Result<String, SendFailure> {
        let request = SendRequest {
            from: &self.from,
            to: &sms.to,
            text: &sms.text,
            webhook_url: &self.webhook_url,
            messaging_profile_id: self.messaging_profile_id.as_deref(),
        };
        let response = self
            .http
            .post(&self.messages_url)
            .bearer_auth(&self.api_key)
            .json(&request)
            .send()
            .await
            .map_err(|e| {
                SendFailure::new(
                    FailureKind::Retryable,
                    None,
                    None,
                    format!("transport error: {e}"),
                )
            })?;
        let status = response.status().as_u16();
        let reset = response
            .headers()
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 0.0 && *secs <= MAX_RESET_SECS)
            .map(Duration::from_secs_f64);
        let body = response.bytes().await.map_err(|e| {
            SendFailure::new(
                FailureKind::Retryable,
                Some(status),
                None,
                format!("reading the response: {e}"),
            )
        })?;
        if (200..300).contains(&status) {
            return serde_json::from_slice::<SendResponse>(&body)
                .map(|r| r.data.id)
                // Telnyx accepted it; sending again could deliver it twice, so do not retry.
                .map_err(|e| {
                    SendFailure::new(
                        FailureKind::Permanent,
                        Some(status),
                        None,
                        format!("accepted, but the response has no message id: {e}"),
                    )
                });
        }
        let first = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.errors.into_iter().next());
        let code = first.as_ref().and_then(|e| e.code.clone());
        let detail = first
            .map(|e| {
                [e.title, e.detail]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        let throttled = is_throttle(status, code.as_deref()).then_some(reset);
        let mut failure = SendFailure::new(
            classify(status, code.as_deref()),
            Some(status),
            code,
            detail,
        );
        failure.throttled = throttled;
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_telnyx_sdks() {
        use FailureKind::*;
        assert_eq!(classify(500, None), Retryable);
        assert_eq!(classify(503, Some("10007")), Retryable);
        assert_eq!(classify(429, Some("10011")), Retryable);
        assert_eq!(classify(408, None), Retryable);
        assert_eq!(classify(400, Some("40318")), Retryable);
        assert_eq!(classify(400, Some("40310")), Permanent);
        assert_eq!(classify(401, Some("10009")), Permanent);
        assert_eq!(classify(422, Some("40300")), RecipientOptedOut);
    }
}
