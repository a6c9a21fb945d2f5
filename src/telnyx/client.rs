//! The Telnyx HTTP client: `POST {base}/v2/messages` to send, `GET {base}/v2/messages/{id}` to
//! ask where a message stands, and the classification of its errors into
//! retryable and permanent.

use std::time::Duration;

use belfry_actors::ports::{CarrierStatus, FailureKind, OutboundSms, SendFailure};

use super::webhook::MessagePayload;
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
            // The church's own number, else the platform's.
            from: sms.from.as_deref().unwrap_or(&self.from),
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
            .map_err(transport_error)?;
        let (status, body) = read(response).await?;
        if (200..300).contains(&status.code) {
            return serde_json::from_slice::<SendResponse>(&body)
                .map(|r| r.data.id)
                // Telnyx accepted it; sending again could deliver it twice, so do not retry.
                .map_err(|e| {
                    SendFailure::new(
                        FailureKind::Permanent,
                        Some(status.code),
                        None,
                        format!("accepted, but the response has no message id: {e}"),
                    )
                });
        }
        Err(failure(status, &body))
    }

    /// Asks where a message stands: `GET {base}/v2/messages/{id}`. `None` when Telnyx does not
    /// know the id (it keeps messages for 10 days) or names a status Belfry does not know.
    pub async fn look_up(&self, id: String) -> Result<Option<CarrierStatus>, SendFailure> {
        // Telnyx's ids are UUIDs: anything else is none of theirs, and must not shape the path.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(None);
        }
        let response = self
            .http
            .get(format!("{}/{id}", self.messages_url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(transport_error)?;
        let (status, body) = read(response).await?;
        if status.code == 404 {
            return Ok(None);
        }
        if (200..300).contains(&status.code) {
            return serde_json::from_slice::<LookupResponse>(&body)
                .map(|r| r.data.carrier_status())
                .map_err(|e| {
                    SendFailure::new(
                        FailureKind::Permanent,
                        Some(status.code),
                        None,
                        format!("the message record cannot be read: {e}"),
                    )
                });
        }
        Err(failure(status, &body))
    }
}

#[derive(Deserialize)]
struct LookupResponse {
    data: MessagePayload,
}

/// An answer's status and what it says of throttling.
struct AnswerStatus {
    code: u16,
    reset: Option<Duration>,
}

fn transport_error(e: reqwest::Error) -> SendFailure {
    SendFailure::new(
        FailureKind::Retryable,
        None,
        None,
        format!("transport error: {e}"),
    )
}

async fn read(response: reqwest::Response) -> Result<(AnswerStatus, bytes::Bytes), SendFailure> {
    let code = response.status().as_u16();
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
            Some(code),
            None,
            format!("reading the response: {e}"),
        )
    })?;
    Ok((AnswerStatus { code, reset }, body))
}

/// A refusal, classified from its status and Telnyx's first error.
fn failure(status: AnswerStatus, body: &[u8]) -> SendFailure {
    let first = serde_json::from_slice::<ErrorBody>(body)
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
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let throttled = is_throttle(status.code, code.as_deref()).then_some(status.reset);
    let mut failure = SendFailure::new(
        classify(status.code, code.as_deref()),
        Some(status.code),
        code,
        detail,
    );
    failure.throttled = throttled;
    failure
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
