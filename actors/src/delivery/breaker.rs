//! The circuit breaker in front of the carrier.
//!
//! CLOSED: jobs go to the sender pool; consecutive retryable failures are counted and reaching
//! the threshold opens the breaker. OPEN: nothing reaches the carrier; jobs are held, not
//! dropped. When the wait is over the breaker goes HALF_OPEN and lets one held job through as a
//! probe: success closes it and releases every held job, failure opens it again.
//! Permanent rejections say nothing about the carrier's health and do not count.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ractor::factory::{
    Factory, FactoryArguments, Job, JobOptions, queues::DefaultQueue, routing::QueuerRouting,
    worker_builder,
};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use serde::Serialize;

use super::sender::{SenderContext, SenderFactoryMsg, SenderWorker, now_rfc3339};
use super::{DeliveryConfig, SendJob};
use crate::Directory;
use crate::ports::{DeliveryStore, SmsGateway};
use crate::stats::{ActorStats, Mailbox, StatsRegistry};

/// What became of one job, as its worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Failed {
        retryable: bool,
        retry_scheduled: bool,
    },
    /// Not sent: the recipient was no longer claimed.
    Skipped,
}

pub enum BreakerMsg {
    Submit(Vec<SendJob>),
    Completed {
        recipient_id: i64,
        outcome: Outcome,
        elapsed: Duration,
    },
    /// The open period is over.
    OpenElapsed,
    Snapshot(RpcReplyPort<BreakerSnapshot>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub failure_threshold: u32,
    pub open_for_ms: u64,
    pub successes: u64,
    pub failures: u64,
    pub permanent_failures: u64,
    pub retries_scheduled: u64,
    pub dead_lettered: u64,
    pub skipped: u64,
    pub times_opened: u64,
    /// Jobs waiting for the breaker to close.
    pub held: usize,
    /// Jobs handed to the sender pool and not yet reported back.
    pub in_flight: u64,
    pub opened_at: Option<String>,
    pub probe_in_flight: bool,
}

pub struct Breaker;

pub struct BreakerArgs {
    pub config: DeliveryConfig,
    pub gateway: Arc<dyn SmsGateway>,
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

pub struct BreakerActorState {
    config: DeliveryConfig,
    sender_ctx: Arc<SenderContext>,
    senders: ActorRef<SenderFactoryMsg>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
    state: BreakerState,
    held: VecDeque<SendJob>,
    probe: Option<i64>,
    consecutive_failures: u32,
    counts: Counts,
    opened_at: Option<String>,
}

#[derive(Default)]
struct Counts {
    successes: u64,
    failures: u64,
    permanent_failures: u64,
    retries_scheduled: u64,
    dead_lettered: u64,
    skipped: u64,
    times_opened: u64,
    in_flight: u64,
}

type SenderFactory = Factory<
    u64,
    SendJob,
    (),
    SenderWorker,
    QueuerRouting<u64, SendJob>,
    DefaultQueue<u64, SendJob>,
>;

async fn spawn_senders(
    myself: &ActorRef<BreakerMsg>,
    ctx: &Arc<SenderContext>,
    workers: usize,
    registry: &StatsRegistry,
) -> Result<ActorRef<SenderFactoryMsg>, ActorProcessingErr> {
    let builder_ctx = Arc::clone(ctx);
    let args = FactoryArguments::builder()
        .worker_builder(Box::new(worker_builder(move |_wid| {
            (
                SenderWorker {
                    ctx: Arc::clone(&builder_ctx),
                },
                (),
            )
        })))
        .queue(Default::default())
        .router(Default::default())
        .num_initial_workers(workers.max(1))
        .build();
    let (factory, _) =
        Actor::spawn_linked(None, SenderFactory::default(), args, myself.get_cell()).await?;
    registry.insert(factory.get_id(), Arc::clone(&ctx.pool_stats));
    Ok(factory)
}

impl BreakerActorState {
    fn dispatch(&mut self, job: SendJob) {
        self.counts.in_flight += 1;
        let key = job.recipient_id as u64;
        let sent = self.senders.send_message(FactoryMessage::Dispatch(Job {
            key,
            msg: job,
            options: JobOptions::default(),
            accepted: None,
        }));
        if sent.is_err() {
            tracing::error!("sender pool is gone; job lost until restart");
        }
    }

    /// Sends now, holds, or sends as the probe, depending on the state.
    fn admit(&mut self, job: SendJob) {
        match self.state {
            BreakerState::Closed => self.dispatch(job),
            BreakerState::Open => self.held.push_back(job),
            BreakerState::HalfOpen if self.probe.is_none() => {
                self.probe = Some(job.recipient_id);
                self.dispatch(job);
            }
            BreakerState::HalfOpen => self.held.push_back(job),
        }
    }

    fn open(&mut self, myself: &ActorRef<BreakerMsg>) {
        self.state = BreakerState::Open;
        self.probe = None;
        self.counts.times_opened += 1;
        self.opened_at = Some(now_rfc3339());
        tracing::warn!(
            consecutive_failures = self.consecutive_failures,
            open_for_ms = self.config.breaker_open_for.as_millis() as u64,
            "circuit breaker opened"
        );
        let mailbox = self.mailbox(myself);
        let wait = self.config.breaker_open_for;
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            mailbox.send(BreakerMsg::OpenElapsed);
        });
    }

    fn close(&mut self) {
        tracing::info!(released = self.held.len(), "circuit breaker closed");
        self.state = BreakerState::Closed;
        self.probe = None;
        self.consecutive_failures = 0;
        self.opened_at = None;
        while let Some(job) = self.held.pop_front() {
            self.dispatch(job);
        }
    }

    fn half_open(&mut self) {
        tracing::info!("circuit breaker half-open: sending one probe");
        self.state = BreakerState::HalfOpen;
        self.probe = None;
        if let Some(job) = self.held.pop_front() {
            self.admit(job);
        }
    }

    fn mailbox(&self, myself: &ActorRef<BreakerMsg>) -> Mailbox<BreakerMsg> {
        Mailbox::new(myself.clone(), Arc::clone(&self.stats))
    }

    fn completed(&mut self, myself: &ActorRef<BreakerMsg>, recipient_id: i64, outcome: Outcome) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        let was_probe = self.probe == Some(recipient_id);
        match outcome {
            Outcome::Accepted => {
                self.counts.successes += 1;
                self.consecutive_failures = 0;
                if was_probe {
                    self.close();
                }
            }
            Outcome::Failed {
                retryable: true,
                retry_scheduled,
            } => {
                self.counts.failures += 1;
                self.count_next_step(retry_scheduled);
                self.consecutive_failures += 1;
                let reopen = was_probe
                    || (self.state == BreakerState::Closed
                        && self.consecutive_failures >= self.config.breaker_failure_threshold);
                if reopen {
                    self.open(myself);
                }
            }
            Outcome::Failed {
                retryable: false,
                retry_scheduled,
            } => {
                self.counts.permanent_failures += 1;
                self.count_next_step(retry_scheduled);
                if was_probe {
                    // The carrier answered, so it is up; the request itself was bad.
                    self.close();
                }
            }
            Outcome::Skipped => {
                self.counts.skipped += 1;
                if was_probe {
                    // Nothing was learnt; let the next job probe.
                    self.probe = None;
                    if let Some(job) = self.held.pop_front() {
                        self.admit(job);
                    }
                }
            }
        }
    }

    fn count_next_step(&mut self, retry_scheduled: bool) {
        if retry_scheduled {
            self.counts.retries_scheduled += 1;
        } else {
            self.counts.dead_lettered += 1;
        }
    }

    fn snapshot(&self) -> BreakerSnapshot {
        BreakerSnapshot {
            state: self.state,
            consecutive_failures: self.consecutive_failures,
            failure_threshold: self.config.breaker_failure_threshold,
            open_for_ms: self.config.breaker_open_for.as_millis() as u64,
            successes: self.counts.successes,
            failures: self.counts.failures,
            permanent_failures: self.counts.permanent_failures,
            retries_scheduled: self.counts.retries_scheduled,
            dead_lettered: self.counts.dead_lettered,
            skipped: self.counts.skipped,
            times_opened: self.counts.times_opened,
            held: self.held.len(),
            in_flight: self.counts.in_flight,
            opened_at: self.opened_at.clone(),
            probe_in_flight: self.probe.is_some(),
        }
    }
}

use ractor::factory::FactoryMessage;

impl Actor for Breaker {
    type Msg = BreakerMsg;
    type State = BreakerActorState;
    type Arguments = BreakerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: BreakerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let sender_ctx = Arc::new(SenderContext {
            gateway: args.gateway,
            store: args.store,
            directory: Arc::clone(&args.directory),
            breaker: Mailbox::new(myself.clone(), Arc::clone(&args.stats)),
            config: args.config.clone(),
            pool_stats: ActorStats::with_children_kind(
                "sender-pool",
                "senders",
                0,
                Some("sender-worker"),
            ),
        });
        let senders =
            spawn_senders(&myself, &sender_ctx, args.config.workers, &args.registry).await?;
        Ok(BreakerActorState {
            config: args.config,
            sender_ctx,
            senders,
            stats: args.stats,
            registry: args.registry,
            state: BreakerState::Closed,
            held: VecDeque::new(),
            probe: None,
            consecutive_failures: 0,
            counts: Counts::default(),
            opened_at: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.record_handled();
        match msg {
            BreakerMsg::Submit(jobs) => {
                for job in jobs {
                    state.admit(job);
                }
            }
            BreakerMsg::Completed {
                recipient_id,
                outcome,
                ..
            } => state.completed(&myself, recipient_id, outcome),
            BreakerMsg::OpenElapsed => {
                if state.state == BreakerState::Open {
                    state.half_open();
                }
            }
            BreakerMsg::Snapshot(reply) => {
                let _ = reply.send(state.snapshot());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, _) | SupervisionEvent::ActorTerminated(cell, ..) =
            &event
            && cell.get_id() == state.senders.get_id()
        {
            tracing::error!("sender pool stopped; starting a new one");
            state.stats.record_failure();
            state.registry.remove(cell.get_id());
            state.senders = spawn_senders(
                &myself,
                &state.sender_ctx,
                state.config.workers,
                &state.registry,
            )
            .await?;
        }
        Ok(())
    }
}
