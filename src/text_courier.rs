//! The text courier: about once a second every node claims the notifications' SMS deliveries
//! that are due (`db::notification_texts`), holds the ones that fall in their user's quiet
//! hours until those end (`domain::text_plan`), and hands the rest to the carrier through the
//! `SmsGateway` port the delivery pipeline's senders use (Telnyx or the sandbox, measured the
//! same way). It makes no call while the carrier's breaker is not closed, so an outage that
//! stopped members' messages does not get hammered by notifications; the texts wait, due, until
//! it closes. A try refused for now is retried as `domain::delivery_retry` says, one refused for
//! good is `failed` with the carrier's reason. The carrier's reports on accepted texts arrive at
//! `/webhooks/telnyx`, which moves them to `delivered` or `failed`.
//!
//! These are not members' messages: they have no recipient row, so they do not pass through
//! the outbox, its pacing or a church's pause (an operator's critical notice must reach a paused
//! church's admins).

use std::sync::Arc;
use std::time::Duration;

use belfry_actors::Directory;
use belfry_actors::ports::{FailureKind, OutboundSms, SendFailure, SmsGateway};
use belfry_actors::protocol::{BreakerState, Priority};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::db::notification_mail::{self, Outcome};
use crate::db::notification_texts::{self, DueText};
use crate::db::{DbError, DbPool};
use crate::domain::delivery_retry;
use crate::domain::email_plan::EmailPlan;
use crate::domain::text_plan::{self, DISABLED, NO_PHONE, TextStep};
use crate::periodic::drain;
use crate::telemetry::Metrics;

/// Deliveries claimed at once.
const BATCH: i64 = 100;
/// Texts being handed to the carrier at once.
const CONCURRENCY: usize = 8;
/// How long a claim holds a delivery: longer than any call takes.
const LEASE_SECS: f64 = 120.0;

pub struct TextCourier {
    pub pool: DbPool,
    pub clock: SharedClock,
    pub gateway: Arc<dyn SmsGateway>,
    /// The tree, for the breaker's state.
    pub directory: Arc<Directory>,
    pub metrics: Arc<Metrics>,
    /// How long one call to the carrier may take (`BELFRY_SEND_TIMEOUT_MS`).
    pub send_timeout: Duration,
}

/// Runs the courier every `every` until shutdown.
pub fn spawn(courier: Arc<TextCourier>, every: Duration, shutdown: watch::Receiver<bool>) {
    crate::periodic::spawn_every(every, shutdown, move || {
        let courier = Arc::clone(&courier);
        async move { courier.pass().await }
    });
}

impl TextCourier {
    /// Works through what is due now, if the carrier may be called.
    pub async fn pass(&self) {
        if self.carrier_usable().await {
            drain(BATCH, "notification texts", || self.batch()).await;
        }
    }

    /// Whether the breaker lets calls through: closed, or turned off by an operator.
    async fn carrier_usable(&self) -> bool {
        match self.directory.breaker_snapshot().await {
            Ok(snapshot) => matches!(
                snapshot.state,
                BreakerState::Closed | BreakerState::Disabled
            ),
            Err(e) => {
                tracing::warn!(error = %e, "breaker unavailable; notification texts wait");
                false
            }
        }
    }

    async fn batch(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let due = notification_texts::claim_due(&self.pool, now, LEASE_SECS, BATCH).await?;
        let claimed = due.len();
        let outcomes: Vec<(i64, Outcome)> = stream::iter(due)
            .map(|text| async move {
                let id = text.notification_id;
                (id, self.settle(text, now).await)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        notification_mail::record(&self.pool, "sms", &outcomes, self.clock.now()).await?;
        for status in ["sent", "failed", "skipped", "held"] {
            let n = outcomes
                .iter()
                .filter(|(_, o)| o.status() == status)
                .count();
            self.metrics
                .notification_deliveries("sms", status, n as u64);
        }
        Ok(claimed)
    }

    async fn settle(&self, due: DueText, now: DateTime<Utc>) -> Outcome {
        if due.disabled {
            return Outcome::Skipped(DISABLED);
        }
        let Some(phone) = due.phone.clone() else {
            return Outcome::Skipped(NO_PHONE);
        };
        if let TextStep::Hold { until, reason } =
            text_plan::when_due(&due.preferences, due.priority, now)
        {
            return Outcome::Later {
                plan: EmailPlan::Now,
                due: until,
                held: true,
                reason: Some(reason.to_owned()),
                tried: false,
            };
        }
        let sms = OutboundSms {
            // Not a member's recipient row: the carrier's id is what the reports find it by.
            recipient_id: 0,
            church_id: due.church_id.unwrap_or_default(),
            to: phone,
            text: text_plan::text(&due.title, &due.body, due.written.as_deref()),
            from: None,
            urgent: due.priority == Priority::Critical,
        };
        let sent = match tokio::time::timeout(self.send_timeout, self.gateway.send(sms)).await {
            Ok(sent) => sent,
            Err(_) => Err(SendFailure::new(
                FailureKind::Retryable,
                None,
                None,
                format!(
                    "no answer from the carrier within {} ms",
                    self.send_timeout.as_millis()
                ),
            )),
        };
        after_call(sent, due.attempts, now)
    }
}

/// What a call's result makes of the delivery, after `attempts` earlier tries.
fn after_call(sent: Result<String, SendFailure>, attempts: i32, now: DateTime<Utc>) -> Outcome {
    match sent {
        Ok(carrier_id) => Outcome::Texted(carrier_id),
        Err(failure) if !failure.is_retryable() => Outcome::Failed(failure.detail),
        Err(failure) => match delivery_retry::retry_at(attempts, now) {
            None => Outcome::Failed(delivery_retry::gave_up(&failure.detail)),
            Some(due) => Outcome::Later {
                plan: EmailPlan::Now,
                due,
                held: false,
                reason: Some(failure.detail),
                tried: true,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_for_good_fails_at_once_and_one_for_now_is_tried_again() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let refused = |kind| {
            Err(SendFailure::new(
                kind,
                Some(400),
                None,
                "invalid number".into(),
            ))
        };
        assert_eq!(
            after_call(refused(FailureKind::Permanent), 0, now),
            Outcome::Failed("invalid number".into())
        );
        assert_eq!(
            after_call(refused(FailureKind::RecipientOptedOut), 0, now),
            Outcome::Failed("invalid number".into())
        );
        assert!(matches!(
            after_call(refused(FailureKind::Retryable), 0, now),
            Outcome::Later { tried: true, held: false, due, .. } if due == now + delivery_retry::RETRY_FIRST
        ));
        assert_eq!(
            after_call(
                refused(FailureKind::Retryable),
                delivery_retry::ATTEMPTS - 1,
                now
            ),
            Outcome::Failed("gave up after 10 tries: invalid number".into())
        );
        assert_eq!(
            after_call(Ok("abc".into()), 0, now),
            Outcome::Texted("abc".into())
        );
    }
}
