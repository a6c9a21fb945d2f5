//! The pool of sender workers (a ractor factory): each takes one job, calls the carrier once,
//! records an acceptance, and reports the outcome to the breaker, which owns retries.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorProcessingErr;
use ractor::ActorRef;
use ractor::factory::{FactoryMessage, Job, Worker, WorkerId};

use super::SendJob;
use super::breaker::BreakerMsg;
use crate::Directory;
use crate::ports::{
    AttemptRecord, DeliveryStore, FailureKind, OutboundSms, SendFailure, SmsGateway,
};
use crate::stats::{ActorStats, Mailbox};

/// Everything a worker needs, shared by the whole pool.
pub struct SenderContext {
    pub gateway: Arc<dyn SmsGateway>,
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub breaker: Mailbox<BreakerMsg>,
    pub send_timeout: Duration,
    pub pool_stats: Arc<ActorStats>,
}

pub struct SenderWorker {
    pub ctx: Arc<SenderContext>,
}

pub type SenderFactoryMsg = FactoryMessage<u64, SendJob>;

impl SenderWorker {
    async fn attempt(&self, job: &SendJob) -> Result<String, SendFailure> {
        let sms = OutboundSms {
            recipient_id: job.recipient_id,
            to: job.to.clone(),
            text: job.text.clone(),
        };
        match tokio::time::timeout(self.ctx.send_timeout, self.ctx.gateway.send(sms)).await {
            Ok(result) => result,
            Err(_) => Err(SendFailure {
                kind: FailureKind::Retryable,
                http_status: None,
                code: None,
                detail: format!(
                    "no answer from the carrier within {} ms",
                    self.ctx.send_timeout.as_millis()
                ),
            }),
        }
    }
}

impl Worker for SenderWorker {
    type Key = u64;
    type Message = SendJob;
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
        Job { key, msg, .. }: Job<u64, SendJob>,
        _state: &mut (),
    ) -> Result<u64, ActorProcessingErr> {
        let mut job = msg;
        let started = tokio::time::Instant::now();
        let result = self.attempt(&job).await;
        let attempt_no = job.attempts.len() as u32 + 1;
        let outcome = match result {
            Ok(provider_id) => {
                match self
                    .ctx
                    .store
                    .mark_accepted(job.recipient_id, provider_id, attempt_no)
                    .await
                {
                    Ok(Some(event)) => self.ctx.directory.publish_message_event(&event),
                    Ok(None) => {}
                    Err(err) => tracing::error!(
                        recipient = job.recipient_id,
                        %err,
                        "carrier accepted the SMS but recording it failed"
                    ),
                }
                Ok(())
            }
            Err(failure) => {
                job.attempts.push(AttemptRecord {
                    attempt: attempt_no,
                    at: now_rfc3339(),
                    http_status: failure.http_status,
                    code: failure.code.clone(),
                    detail: failure.detail.clone(),
                });
                Err(failure)
            }
        };
        self.ctx.pool_stats.record_handled();
        self.ctx.breaker.send(BreakerMsg::Completed {
            job,
            outcome,
            elapsed: started.elapsed(),
        });
        Ok(key)
    }
}

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
