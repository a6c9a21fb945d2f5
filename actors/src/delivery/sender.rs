//! The pool of sender workers (a ractor factory). Each takes one claimed recipient, marks it as
//! being sent, calls the carrier once, and records what follows: acceptance, a durable retry
//! after a backoff, or the dead-letter queue. It then reports the outcome to the breaker.

use std::sync::Arc;

use ractor::ActorProcessingErr;
use ractor::ActorRef;
use ractor::factory::{FactoryMessage, Job, Worker, WorkerId};

use super::DeliveryConfig;
use super::breaker::gate::Gate;
use super::breaker::types::{BreakerMsg, Outcome};
use super::pacer::Pacer;
use crate::Directory;
use crate::ports::{
    AttemptRecord, AttemptStart, DeadLetter, DeliveryStore, FailureKind, OutboundSms, Report,
    SendFailure, SmsGateway,
};
use crate::protocol::timestamp;
use crate::stats::{ActorStats, Mailbox};
use crate::status::failure_code;

/// Everything a worker needs, shared by the whole pool.
pub struct SenderContext {
    pub gateway: Arc<dyn SmsGateway>,
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub breaker: Mailbox<BreakerMsg>,
    /// The breaker's permission, taken right before each call.
    pub gate: Arc<Gate>,
    pub config: DeliveryConfig,
    pub pacer: Arc<Pacer>,
    pub pool_stats: Arc<ActorStats>,
}

pub struct SenderWorker {
    pub ctx: Arc<SenderContext>,
}

pub type SenderFactoryMsg = FactoryMessage<u64, OutboundSms>;

impl SenderWorker {
    async fn call_carrier(&self, job: &OutboundSms) -> Result<String, SendFailure> {
        let sms = job.clone();
        let timeout = self.ctx.config.send_timeout;
        match tokio::time::timeout(timeout, self.ctx.gateway.send(sms)).await {
            Ok(result) => result,
            Err(_) => Err(SendFailure::new(
                FailureKind::Retryable,
                None,
                None,
                format!(
                    "no answer from the carrier within {} ms",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// Sends the job, unless the breaker shut while it waited (`None`: not sent, nothing
    /// marked).
    async fn send(&self, job: &OutboundSms) -> Option<Outcome> {
        let ctx = &self.ctx;
        let permitted = || ctx.gate.permits(job.recipient_id) && !ctx.directory.is_held(job);
        // Asked before the slot too: a shut breaker's jobs go back at once instead of each
        // waiting for a slot of the pacer first.
        if !permitted() {
            return None;
        }
        // Waiting for the slot comes before marking the attempt, so a crash while waiting
        // leaves nothing that looks like it may have been sent.
        ctx.pacer.acquire().await;
        if !permitted() {
            return None;
        }
        Some(self.attempt(job).await)
    }

    async fn attempt(&self, job: &OutboundSms) -> Outcome {
        let ctx = &self.ctx;
        let attempt = match ctx.directory.begin_attempt(job.recipient_id).await {
            Ok(AttemptStart::Go(attempt)) => attempt,
            Ok(AttemptStart::Gone | AttemptStart::OptedOut(_)) => return Outcome::Skipped,
            Err(err) => {
                // Left claimed: the next start-up hands it out again.
                tracing::error!(recipient = job.recipient_id, %err, "cannot mark the send as started; not sending");
                return Outcome::Skipped;
            }
        };
        ctx.pacer.call_starts().await;
        match self.call_carrier(job).await {
            Ok(provider_id) => {
                ctx.pacer.succeeded().await;
                let accepted = Report::Accepted {
                    recipient_id: job.recipient_id,
                    provider_message_id: provider_id,
                };
                if !ctx.directory.report_later(accepted) {
                    tracing::error!(
                        recipient = job.recipient_id,
                        "carrier accepted the SMS but the report writer is not running to record it"
                    );
                }
                Outcome::Accepted
            }
            Err(failure) => self.after_failure(job, attempt, failure).await,
        }
    }

    async fn after_failure(
        &self,
        job: &OutboundSms,
        attempt: u32,
        failure: SendFailure,
    ) -> Outcome {
        let ctx = &self.ctx;
        let record = AttemptRecord {
            attempt,
            at: timestamp(),
            http_status: failure.http_status,
            code: failure.code.clone(),
            detail: failure.detail.clone(),
        };
        let retryable = failure.is_retryable();
        if let Some(reset) = failure.throttled {
            tracing::warn!(?reset, "carrier is throttling; slowing down");
            ctx.pacer.throttled(reset).await;
        }
        if failure.kind == FailureKind::RecipientOptedOut
            && let Err(err) = ctx.store.opt_out_recipient(job.recipient_id).await
        {
            tracing::error!(recipient = job.recipient_id, %err, "cannot record the opt-out");
        }
        if retryable && attempt < ctx.config.max_attempts {
            let delay = ctx
                .config
                .backoff
                .delay(attempt)
                .max(failure.throttled.flatten().unwrap_or_default());
            match ctx
                .store
                .schedule_retry(job.recipient_id, record.clone(), delay)
                .await
            {
                Ok(()) => {
                    ctx.directory.wake_outbox_in(delay);
                    return Outcome::Failed {
                        retryable,
                        retry_scheduled: true,
                    };
                }
                Err(err) => {
                    tracing::error!(recipient = job.recipient_id, %err, "cannot schedule the retry; dead-lettering")
                }
            }
        }
        let reason = if retryable {
            describe(&format!("gave up after {attempt} attempts"), &failure)
        } else {
            describe("rejected by carrier", &failure)
        };
        ctx.directory.dead_letter(DeadLetter {
            recipient_id: job.recipient_id,
            reason,
            last_attempt: Some(record),
        });
        Outcome::Failed {
            retryable,
            retry_scheduled: false,
        }
    }
}

fn describe(prefix: &str, failure: &SendFailure) -> String {
    let mut reason = prefix.to_owned();
    if let Some(status) = failure.http_status {
        reason.push_str(&format!(": HTTP {status}"));
    }
    if let Some(code) = &failure.code {
        reason.push_str(&format!(", {}{code}", failure_code::CODE_MARK));
    }
    reason.push_str(&format!(" ({})", failure.detail));
    reason
}

impl Worker for SenderWorker {
    type Key = u64;
    type Message = OutboundSms;
    type Arguments = ();
    type State = ();

    async fn pre_start(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<SenderFactoryMsg>,
        _args: (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<SenderFactoryMsg>,
        Job { key, msg, .. }: Job<u64, OutboundSms>,
        _state: &mut (),
    ) -> Result<u64, ActorProcessingErr> {
        let started = tokio::time::Instant::now();
        let outcome = self.send(&msg).await;
        self.ctx.pool_stats.record_handled();
        self.ctx.breaker.send(match outcome {
            Some(outcome) => BreakerMsg::Completed {
                recipient_id: msg.recipient_id,
                outcome,
                elapsed: started.elapsed(),
            },
            None => BreakerMsg::NotPermitted(msg),
        });
        Ok(key)
    }
}
