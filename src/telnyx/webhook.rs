//! The shapes of Telnyx messaging webhooks, as far as Belfry reads them, and what a status
//! event means for the recipient it is about.

use belfry_actors::ports::StatusReport;
use belfry_actors::status::RecipientStatus;
use serde::Deserialize;

/// Telnyx's recipient statuses (`to[].status`) as Belfry's.
pub fn recipient_status(telnyx: &str) -> Option<RecipientStatus> {
    use RecipientStatus::*;
    Some(match telnyx {
        "queued" => Queued,
        "sending" => Sending,
        "sent" => Sent,
        "delivery_unconfirmed" => DeliveryUnconfirmed,
        "delivered" => Delivered,
        "delivery_failed" => DeliveryFailed,
        "sending_failed" => SendingFailed,
        "expired" => Expired,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub id: String,
    pub event_type: String,
    #[serde(default)]
    pub occurred_at: Option<String>,
    pub payload: MessagePayload,
}

#[derive(Debug, Deserialize)]
pub struct MessagePayload {
    pub id: String,
    /// The sender of an inbound message.
    #[serde(default)]
    pub from: Option<FromEntry>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub to: Vec<ToEntry>,
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
pub struct FromEntry {
    pub phone_number: String,
}

#[derive(Debug, Deserialize)]
pub struct ToEntry {
    pub phone_number: String,
    pub status: String,
}

#[derive(Debug, Deserialize)]
pub struct ErrorEntry {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

impl EventData {
    /// A `message.sent` or `message.finalized` event as a report about its recipient; `None`
    /// when it names no status Telnyx documents.
    pub fn status_report(self) -> Option<StatusReport> {
        let status = recipient_status(&self.payload.to.first()?.status)?;
        let failure_reason = status.is_failure().then(|| {
            self.payload
                .failure_reason()
                .unwrap_or_else(|| status.as_str().to_owned())
        });
        Some(StatusReport {
            event_id: self.id,
            event_type: self.event_type,
            provider_message_id: self.payload.id,
            status,
            failure_reason,
        })
    }
}

impl MessagePayload {
    /// A readable failure reason from `errors[]`, e.g. `40008 Undeliverable: ...`.
    pub fn failure_reason(&self) -> Option<String> {
        let e = self.errors.first()?;
        let mut reason = String::new();
        for part in [&e.code, &e.title].into_iter().flatten() {
            if !reason.is_empty() {
                reason.push(' ');
            }
            reason.push_str(part);
        }
        if let Some(detail) = &e.detail {
            if !reason.is_empty() {
                reason.push_str(": ");
            }
            reason.push_str(detail);
        }
        Some(reason).filter(|r| !r.is_empty())
    }
}

/// Builds a webhook body in Telnyx's envelope; used by the sandbox carrier.
pub fn envelope_json(
    event_id: &str,
    event_type: &str,
    message_id: &str,
    to: &str,
    status: &str,
    errors: serde_json::Value,
    delivered_to: &str,
) -> serde_json::Value {
    let now = belfry_actors::protocol::timestamp();
    serde_json::json!({
        "data": {
            "record_type": "event",
            "event_type": event_type,
            "id": event_id,
            "occurred_at": now,
            "payload": {
                "record_type": "message",
                "direction": "outbound",
                "id": message_id,
                "to": [{"phone_number": to, "status": status, "carrier": "Sandbox", "line_type": "Wireless"}],
                "errors": errors,
            }
        },
        "meta": {"attempt": 1, "delivered_to": delivered_to}
    })
}
