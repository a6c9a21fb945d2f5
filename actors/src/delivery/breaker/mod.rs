//! The circuit breaker in front of the carrier, after resilience4j's model.
//!
//! CLOSED: jobs go to the sender pool and each call's outcome enters a count-based sliding
//! window; once it holds `minimum_calls`, a failure rate or slow-call rate at or above its
//! threshold opens the breaker. OPEN: nothing reaches the carrier; jobs are held, not dropped.
//! After `wait_in_open` the breaker goes HALF_OPEN and lets `half_open_calls` held jobs through
//! as probes; when they have all answered it closes (releasing every held job) or opens again.
//! An admin may force it open (hold everything until told otherwise), disable it (send
//! everything, judge nothing) or close it. Every transition is logged, counted, and published to
//! the `admins` room.
//!
//! Permanent rejections mean the carrier answered: they count as successful calls.

pub mod gate;
mod notice;
mod pool;
mod record;
pub mod types;
pub mod window;

pub use types::{
    ADMINS_ROOM, BreakerConfig, BreakerMsg, BreakerSnapshot, BreakerState, Counts, NotSettable,
    Outcome,
};

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ractor::factory::{FactoryMessage, Job, JobOptions};
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use self::gate::Gate;
use self::window::{Rates, SlidingWindow};
use super::DeliveryConfig;
use super::pacer::Pacer;
use super::sender::{SenderContext, SenderFactoryMsg};
use crate::Directory;
use crate::ports::{DeliveryStore, OutboundSms, SmsGateway};
use crate::protocol::{RoomEvent, timestamp, timestamp_of};
use crate::stats::{ActorStats, Mailbox, StatsRegistry};

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
    config: BreakerConfig,
    workers: usize,
    sender_ctx: Arc<SenderContext>,
    senders: ActorRef<SenderFactoryMsg>,
    directory: Arc<Directory>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
    state: BreakerState,
    window: SlidingWindow,
    probe_results: SlidingWindow,
    /// Which calls may start now (the probes, when half-open); shared with the workers.
    gate: Arc<Gate>,
    permits_left: usize,
    held: VecDeque<OutboundSms>,
    /// Jobs of churches that paused their sending, in order, by church.
    held_for_churches: HashMap<i64, VecDeque<OutboundSms>>,
    counts: Counts,
    in_flight: u64,
    opened_at: Option<String>,
    next_probe_at: Option<String>,
}

impl BreakerActorState {
    fn dispatch(&mut self, job: OutboundSms) {
        self.in_flight += 1;
        let key = job.recipient_id as u64;
        let sent = self.senders.send_message(FactoryMessage::Dispatch(Job {
            key,
            msg: job,
            options: JobOptions::default(),
            accepted: None,
        }));
        if sent.is_err() {
            // Left claimed in the outbox: the next start-up hands it out again.
            tracing::error!("sender pool is gone; job waits for the next start");
        }
    }

    fn hold(&mut self, job: OutboundSms) {
        self.counts.held_total += 1;
        self.held.push_back(job);
    }

    /// Sends now, holds, or sends as a probe, depending on the state (and on whether the job's
    /// church paused its sending).
    fn admit(&mut self, job: OutboundSms) {
        if self.directory.is_held(&job) {
            self.held_for_churches
                .entry(job.church_id)
                .or_default()
                .push_back(job);
            return;
        }
        match self.state {
            BreakerState::Closed | BreakerState::Disabled => self.dispatch(job),
            BreakerState::Open | BreakerState::ForcedOpen => self.hold(job),
            BreakerState::HalfOpen if self.permits_left > 0 => {
                self.permits_left -= 1;
                self.gate.add_probe(job.recipient_id);
                self.dispatch(job);
            }
            BreakerState::HalfOpen => self.hold(job),
        }
    }

    /// A church resumed: its held jobs are admitted in the order they came.
    fn church_resumed(&mut self, church_id: i64) {
        if let Some(jobs) = self.held_for_churches.remove(&church_id) {
            for job in jobs {
                self.admit(job);
            }
        }
    }

    fn release_held(&mut self) {
        while let Some(job) = self.held.pop_front() {
            let before = self.held.len();
            self.admit(job);
            if self.held.len() > before {
                // Admitting held it again: no more permits.
                break;
            }
        }
    }

    fn transition(&mut self, myself: &ActorRef<BreakerMsg>, to: BreakerState, reason: &str) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        // Before anything is released below: probes must find the gate half-open.
        self.gate.follow(to);
        self.counts.transitions += 1;
        self.next_probe_at = None;
        tracing::warn!(
            ?from,
            ?to,
            reason,
            held = self.held.len(),
            "circuit breaker transition"
        );
        match to {
            BreakerState::Open => {
                self.counts.times_opened += 1;
                self.opened_at = Some(timestamp());
                let wait = self.config.wait_in_open;
                let probe_at =
                    chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                self.next_probe_at = Some(timestamp_of(probe_at));
                let epoch = self.counts.transitions;
                let mailbox = Mailbox::new(myself.clone(), Arc::clone(&self.stats));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    mailbox.send(BreakerMsg::OpenElapsed(epoch));
                });
            }
            BreakerState::ForcedOpen => self.opened_at = Some(timestamp()),
            BreakerState::HalfOpen => {
                self.permits_left = self.config.half_open_calls.max(1);
                self.gate.clear_probes();
                self.probe_results.clear();
                self.release_held();
            }
            BreakerState::Closed | BreakerState::Disabled => {
                self.opened_at = None;
                self.window.clear();
                self.gate.clear_probes();
                self.release_held();
            }
        }
        let event = RoomEvent::BreakerStateChanged {
            from,
            to,
            reason: reason.to_owned(),
            timestamp: timestamp(),
        };
        self.directory.publish(ADMINS_ROOM.to_owned(), event);
        if let Some(notification) = notice::notice(from, to, reason) {
            self.directory
                .notify(crate::ports::Audience::Operators, notification);
        }
    }

    /// A worker found the gate shut when it was about to call: the job was not sent, and goes
    /// back to wait (or, if the breaker closed meanwhile, out again).
    fn not_permitted(&mut self, job: OutboundSms) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.counts.not_permitted += 1;
        self.gate.remove_probe(job.recipient_id);
        self.admit(job);
    }

    fn too_unhealthy(&self, rates: &Rates) -> Option<String> {
        if rates.failure_rate >= self.config.failure_rate_threshold {
            Some(format!(
                "failure rate {:.0}% over {} calls",
                rates.failure_rate, rates.calls
            ))
        } else if rates.slow_call_rate >= self.config.slow_call_rate_threshold {
            Some(format!(
                "slow-call rate {:.0}% over {} calls",
                rates.slow_call_rate, rates.calls
            ))
        } else {
            None
        }
    }

    fn snapshot(&self) -> BreakerSnapshot {
        BreakerSnapshot {
            state: self.state,
            config: self.config.clone(),
            window: self.window.calls().copied().collect(),
            rates: self.window.rates(),
            counts: self.counts.clone(),
            held: self.held.len(),
            in_flight: self.in_flight,
            probes_in_flight: self.gate.probes_in_flight(),
            opened_at: self.opened_at.clone(),
            next_probe_at: self.next_probe_at.clone(),
        }
    }
}

impl Actor for Breaker {
    type Msg = BreakerMsg;
    type State = BreakerActorState;
    type Arguments = BreakerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: BreakerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let gate = Arc::new(Gate::default());
        let sender_ctx = Arc::new(SenderContext {
            gate: Arc::clone(&gate),
            gateway: args.gateway,
            store: args.store,
            directory: Arc::clone(&args.directory),
            breaker: Mailbox::new(myself.clone(), Arc::clone(&args.stats)),
            config: args.config.clone(),
            pacer: Arc::new(Pacer::new(args.config.send_rate)),
            pool_stats: ActorStats::with_children_kind(
                "sender-pool",
                "senders",
                0,
                Some("sender-worker"),
            ),
        });
        let workers = args.config.workers;
        let senders = pool::spawn_senders(&myself, &sender_ctx, workers, &args.registry).await?;
        let config = args.config.breaker;
        Ok(BreakerActorState {
            window: SlidingWindow::new(config.window_size),
            probe_results: SlidingWindow::new(config.half_open_calls.max(1)),
            config,
            workers,
            sender_ctx,
            senders,
            directory: args.directory,
            stats: args.stats,
            registry: args.registry,
            state: BreakerState::Closed,
            gate,
            permits_left: 0,
            held: VecDeque::new(),
            held_for_churches: HashMap::new(),
            counts: Counts::default(),
            in_flight: 0,
            opened_at: None,
            next_probe_at: None,
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
                elapsed,
            } => state.completed(&myself, recipient_id, outcome, elapsed),
            BreakerMsg::NotPermitted(job) => state.not_permitted(job),
            BreakerMsg::ChurchResumed(church_id) => state.church_resumed(church_id),
            BreakerMsg::OpenElapsed(epoch) => {
                // A later transition (an admin's, say) makes an older timer moot.
                if state.state == BreakerState::Open && state.counts.transitions == epoch {
                    state.transition(&myself, BreakerState::HalfOpen, "wait in open is over");
                }
            }
            BreakerMsg::Set { state: to, reply } => {
                let result = match to {
                    BreakerState::Closed | BreakerState::ForcedOpen | BreakerState::Disabled => {
                        state.transition(&myself, to, "set by an admin");
                        Ok(state.snapshot())
                    }
                    other => Err(NotSettable(other)),
                };
                let _ = reply.send(result);
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
            state.senders =
                pool::spawn_senders(&myself, &state.sender_ctx, state.workers, &state.registry)
                    .await?;
        }
        Ok(())
    }
}
