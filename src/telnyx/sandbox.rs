//! The sandbox carrier: an in-process stand-in for Telnyx, used when no API key is configured.
//!
//! It accepts every send, then posts correctly signed `message.sent` and `message.finalized`
//! webhooks to Belfry's own public URL after realistic delays, failing a configurable share of
//! deliveries; a configurable share of members text back (`message.received`), so the whole
//! product, conversations included, can be tried with no Telnyx account. Like Telnyx it keeps
//! each message's record, so asking where a message stands is answered too (the most recent
//! [`KEPT_RECORDS`] messages; Telnyx keeps 10 days).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belfry_actors::ports::{CarrierStatus, OutboundSms};
use belfry_actors::status::RecipientStatus;
use rand::Rng;

use super::signature::WebhookSigner;
use super::webhook::{Envelope, ErrorEntry, inbound_event, outbound_status_event};

pub struct SandboxCarrier {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    signer: WebhookSigner,
    webhook_url: String,
    behaviour: SandboxBehaviour,
    records: Mutex<Records>,
}

/// How the sandbox's pretend network behaves.
#[derive(Debug, Clone)]
pub struct SandboxBehaviour {
    /// Share of deliveries that fail.
    pub failure_rate: f64,
    /// Share of delivered texts the member answers.
    pub reply_rate: f64,
    /// About how long each step takes.
    pub delay: Duration,
    /// The number a text without a church number of its own comes from.
    pub platform_number: String,
}

/// What the sandbox's members text back.
const REPLIES: [&str; 5] = [
    "Thanks, see you there!",
    "Can I bring a friend?",
    "Is there parking nearby?",
    "Sorry, we can't make it this week.",
    "What time does it finish?",
];

/// Each message's status now, the oldest forgotten first.
#[derive(Default)]
struct Records {
    status: HashMap<String, CarrierStatus>,
    order: VecDeque<String>,
}

pub const KEPT_RECORDS: usize = 100_000;

impl Records {
    fn set(&mut self, id: &str, status: CarrierStatus) {
        if let Some(known) = self.status.get_mut(id) {
            *known = status;
            return;
        }
        if self.order.len() >= KEPT_RECORDS
            && let Some(oldest) = self.order.pop_front()
        {
            self.status.remove(&oldest);
        }
        self.order.push_back(id.to_owned());
        self.status.insert(id.to_owned(), status);
    }
}

const WEBHOOK_TRIES: u32 = 3;

impl SandboxCarrier {
    pub fn new(signer: WebhookSigner, webhook_url: String, behaviour: SandboxBehaviour) -> Self {
        Self {
            inner: Arc::new(Inner {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap_or_default(),
                signer,
                webhook_url,
                behaviour,
                records: Mutex::default(),
            }),
        }
    }
}

fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Inner {
    fn jittered_delay(&self) -> Duration {
        let factor = rand::rng().random_range(0.5..1.5);
        self.behaviour.delay.mul_f64(factor)
    }

    /// Posts like Telnyx: up to three tries, since Belfry may not have recorded the message id
    /// yet when the first report arrives.
    async fn post(self: Arc<Self>, event: Envelope) {
        let body = serde_json::to_string(&event).unwrap_or_default();
        for attempt in 1..=WEBHOOK_TRIES {
            let timestamp = chrono::Utc::now().timestamp();
            let result = self
                .http
                .post(&self.webhook_url)
                .header("content-type", "application/json")
                .header("telnyx-timestamp", timestamp.to_string())
                .header(
                    "telnyx-signature-ed25519",
                    self.signer.sign(timestamp, body.as_bytes()),
                )
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => tracing::debug!(status = %r.status(), attempt, "sandbox webhook refused"),
                Err(e) => tracing::debug!(error = %e, attempt, "sandbox webhook failed"),
            }
            tokio::time::sleep(Duration::from_secs(attempt.into())).await;
        }
        tracing::warn!("sandbox carrier gave up posting a webhook");
    }

    fn record(&self, id: &str, status: RecipientStatus, failure_reason: Option<String>) {
        let status = CarrierStatus {
            status,
            failure_reason,
        };
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(id, status);
    }

    async fn report(self: Arc<Self>, message_id: String, to: String, from: String) {
        tokio::time::sleep(self.jittered_delay()).await;
        self.record(&message_id, RecipientStatus::Sent, None);
        let sent = outbound_status_event(
            random_id(),
            "message.sent",
            message_id.clone(),
            to.clone(),
            "sent",
            Vec::new(),
            self.webhook_url.clone(),
        );
        // The carrier's delivery does not wait for its webhooks to get through.
        tokio::spawn(Arc::clone(&self).post(sent));
        tokio::time::sleep(self.jittered_delay()).await;
        let fails = rand::rng().random_bool(self.behaviour.failure_rate);
        let (status, errors) = if fails {
            let undeliverable = ErrorEntry {
                code: Some("40008".to_owned()),
                title: Some("Undeliverable".to_owned()),
                detail: Some("The sandbox carrier could not deliver this message.".to_owned()),
            };
            ("delivery_failed", vec![undeliverable])
        } else {
            ("delivered", Vec::new())
        };
        let reason = errors.first().and_then(ErrorEntry::reason);
        let final_status = if fails {
            RecipientStatus::DeliveryFailed
        } else {
            RecipientStatus::Delivered
        };
        self.record(&message_id, final_status, reason);
        let finalized = outbound_status_event(
            random_id(),
            "message.finalized",
            message_id,
            to.clone(),
            status,
            errors,
            self.webhook_url.clone(),
        );
        Arc::clone(&self).post(finalized).await;
        if !fails && rand::rng().random_bool(self.behaviour.reply_rate) {
            self.reply(to, from).await;
        }
    }

    /// The member who got a text answers it, a little later.
    async fn reply(self: Arc<Self>, member: String, church_number: String) {
        tokio::time::sleep(self.jittered_delay() * 3).await;
        let text = REPLIES[rand::rng().random_range(0..REPLIES.len())];
        let received = inbound_event(
            random_id(),
            random_id(),
            member,
            church_number,
            text.to_owned(),
            self.webhook_url.clone(),
        );
        self.post(received).await;
    }
}

impl SandboxCarrier {
    /// Accepts an SMS as Telnyx would, and reports on it later; returns its message id.
    pub fn accept(&self, sms: OutboundSms) -> String {
        let message_id = random_id();
        self.inner
            .record(&message_id, RecipientStatus::Queued, None);
        let from = sms
            .from
            .unwrap_or_else(|| self.inner.behaviour.platform_number.clone());
        tokio::spawn(Arc::clone(&self.inner).report(message_id.clone(), sms.to, from));
        message_id
    }
}

impl SandboxCarrier {
    /// Where a message stands, as Telnyx's `GET /v2/messages/{id}` would say.
    pub fn look_up(&self, id: &str) -> Option<CarrierStatus> {
        let records = self.inner.records.lock().unwrap_or_else(|e| e.into_inner());
        records.status.get(id).cloned()
    }
}
