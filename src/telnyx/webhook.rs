//! The shapes of Telnyx messaging webhooks, as far as Belfry reads them, and what a status
//! event means for the recipient it is about.

use belfry_actors::ports::{CarrierStatus, StatusReport};
use belfry_actors::status::RecipientStatus;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub data: EventData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {
    pub attempt: u32,
    pub delivered_to: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    pub id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    pub payload: MessagePayload,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MessagePayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub id: String,
    /// The sender of an inbound message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FromEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub to: Vec<ToEntry>,
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FromEntry {
    pub phone_number: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ToEntry {
    pub phone_number: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_type: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
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
        let CarrierStatus {
            status,
            failure_reason,
        } = self.payload.carrier_status()?;
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
    /// The recipient's status as the message record states it (in a webhook, or in the answer
    /// to `GET /v2/messages/{id}`), with a reason when it failed; `None` when it names no
    /// status Telnyx documents.
    pub fn carrier_status(&self) -> Option<CarrierStatus> {
        let status = recipient_status(&self.to.first()?.status)?;
        let failure_reason = status.is_failure().then(|| {
            self.failure_reason()
                .unwrap_or_else(|| status.as_str().to_owned())
        });
        Some(CarrierStatus {
            status,
            failure_reason,
        })
    }

    /// A readable failure reason from `errors[]`, e.g. `40008 Undeliverable: ...`.
    pub fn failure_reason(&self) -> Option<String> {
        self.errors.first()?.reason()
    }
}

impl ErrorEntry {
    /// This error as one readable line: code, title, then detail.
    pub fn reason(&self) -> Option<String> {
        let mut reason = String::new();
        for part in [&self.code, &self.title].into_iter().flatten() {
            if !reason.is_empty() {
                reason.push(' ');
            }
            reason.push_str(part);
        }
        if let Some(detail) = &self.detail {
            if !reason.is_empty() {
                reason.push_str(": ");
            }
            reason.push_str(detail);
        }
        Some(reason).filter(|r| !r.is_empty())
    }
}

/// A status event about an outbound message, in Telnyx's envelope; the sandbox carrier posts
/// these.
pub fn outbound_status_event(
    event_id: String,
    event_type: &str,
    message_id: String,
    to: String,
    status: &str,
    errors: Vec<ErrorEntry>,
    delivered_to: String,
) -> Envelope {
    Envelope {
        data: EventData {
            record_type: Some("event".to_owned()),
            id: event_id,
            event_type: event_type.to_owned(),
            occurred_at: Some(belfry_actors::protocol::timestamp()),
            payload: MessagePayload {
                record_type: Some("message".to_owned()),
                direction: Some("outbound".to_owned()),
                id: message_id,
                from: None,
                text: None,
                to: vec![ToEntry {
                    phone_number: to,
                    status: status.to_owned(),
                    carrier: Some("Sandbox".to_owned()),
                    line_type: Some("Wireless".to_owned()),
                }],
                errors,
            },
        },
        meta: Some(Meta {
            attempt: 1,
            delivered_to,
        }),
    }
}

/// A `message.received` event: `from` texted our number `to`.
pub fn inbound_event(
    event_id: String,
    message_id: String,
    from: String,
    to: String,
    text: String,
    delivered_to: String,
) -> Envelope {
    Envelope {
        data: EventData {
            record_type: Some("event".to_owned()),
            id: event_id,
            event_type: "message.received".to_owned(),
            occurred_at: Some(belfry_actors::protocol::timestamp()),
            payload: MessagePayload {
                record_type: Some("message".to_owned()),
                direction: Some("inbound".to_owned()),
                id: message_id,
                from: Some(FromEntry { phone_number: from }),
                text: Some(text),
                to: vec![ToEntry {
                    phone_number: to,
                    status: "webhook_delivered".to_owned(),
                    carrier: Some("Sandbox".to_owned()),
                    line_type: Some("Wireless".to_owned()),
                }],
                errors: Vec::new(),
            },
        },
        meta: Some(Meta {
            attempt: 1,
            delivered_to,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_event_reads_back_as_the_report_it_describes() {
        let undeliverable = ErrorEntry {
            code: Some("40008".into()),
            title: Some("Undeliverable".into()),
            detail: None,
        };
        let event = outbound_status_event(
            "ev-1".into(),
            "message.finalized",
            "msg-1".into(),
            "+15550001111".into(),
            "delivery_failed",
            vec![undeliverable],
            "http://belfry/webhooks/telnyx".into(),
        );
        let text = serde_json::to_string(&event).unwrap();
        let read: Envelope = serde_json::from_str(&text).unwrap();
        let report = read
            .data
            .status_report()
            .expect("a status Telnyx documents");
        assert_eq!(report.status, RecipientStatus::DeliveryFailed);
        assert_eq!(report.provider_message_id, "msg-1");
        assert_eq!(
            report.failure_reason.as_deref(),
            Some("40008 Undeliverable")
        );
        assert!(
            recipient_status("skipped").is_none(),
            "Belfry's own, not Telnyx's"
        );
    }
}
