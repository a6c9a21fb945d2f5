//! The outbox actor: turns due recipient rows in the database into jobs for the breaker.
//!
//! Sends are driven from the database, not from memory: a new message, a retry whose backoff
//! is over, or work left by a previous process all become due rows, and this actor claims them
//! in batches. It wakes when told (a new message, a retry scheduled), at the next due time it
//! knows of, and on a slow poll for anything else.
//!
//! At start, and then every `reap_every`, it recovers what stopped nodes left (this node's
//! previous run at start, and any node whose lease ran out: see the store's
//! `recover_interrupted`): recipients claimed but never sent are handed out again; recipients
//! whose request may have reached the carrier are not resent (Telnyx has no idempotency for
//! messages) but dead-lettered for review.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::time::Instant;

use crate::Directory;
use crate::ports::{DeadLetter, DeliveryStore};
use crate::stats::{ActorStats, Mailbox};

pub const INTERRUPTED_REASON: &str = "interrupted: Belfry stopped while this send was in flight; \
     the carrier may or may not have accepted it, so it was not resent. Review before retrying.";

pub enum OutboxMsg {
    /// Look for due work now.
    Wake,
    /// Something becomes due after this long.
    WakeIn(Duration),
}

pub struct Outbox;

pub struct OutboxArgs {
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
    pub batch: usize,
    pub poll: Duration,
    /// How often to look for what dead nodes left.
    pub reap_every: Duration,
}

pub struct OutboxState {
    args: OutboxArgs,
    /// The earliest wake-up already scheduled.
    next_wake: Option<Instant>,
    last_reap: Instant,
    poller: tokio::task::JoinHandle<()>,
}

impl OutboxState {
    fn mailbox(&self, myself: &ActorRef<OutboxMsg>) -> Mailbox<OutboxMsg> {
        Mailbox::new(myself.clone(), Arc::clone(&self.args.stats))
    }

    fn wake_in(&mut self, myself: &ActorRef<OutboxMsg>, delay: Duration) {
        let at = Instant::now() + delay;
        if self
            .next_wake
            .is_some_and(|t| t <= at && t > Instant::now())
        {
            return;
        }
        self.next_wake = Some(at);
        let mailbox = self.mailbox(myself);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            mailbox.send(OutboxMsg::Wake);
        });
    }

    async fn drain(&mut self, myself: &ActorRef<OutboxMsg>) -> Result<(), ActorProcessingErr> {
        loop {
            let jobs = self.args.store.claim_due(self.args.batch).await?;
            let claimed = jobs.len();
            if claimed > 0 && !self.args.directory.submit(jobs) {
                tracing::error!(
                    claimed,
                    "breaker is not running; claimed sends wait for the next start"
                );
            }
            if claimed < self.args.batch {
                break;
            }
        }
        if let Some(delay) = self.args.store.next_due_in().await? {
            self.wake_in(myself, delay);
        }
        Ok(())
    }
}

/// Hands out again what stopped nodes claimed, and dead-letters what they were sending.
async fn recover(args: &OutboxArgs) -> Result<(), ActorProcessingErr> {
    let recovery = args.store.recover_interrupted().await?;
    if recovery.requeued > 0 || !recovery.interrupted.is_empty() {
        tracing::warn!(
            requeued = recovery.requeued,
            interrupted = recovery.interrupted.len(),
            "recovered sends left by a stopped node"
        );
        args.directory.wake_outbox();
    }
    for recipient_id in recovery.interrupted {
        args.directory.dead_letter(DeadLetter {
            recipient_id,
            reason: INTERRUPTED_REASON.to_owned(),
            last_attempt: None,
        });
    }
    Ok(())
}

impl Actor for Outbox {
    type Msg = OutboxMsg;
    type State = OutboxState;
    type Arguments = OutboxArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: OutboxArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        recover(&args).await?;
        let poller = {
            let mailbox = Mailbox::new(myself.clone(), Arc::clone(&args.stats));
            let poll = args.poll;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(poll);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if !mailbox.send(OutboxMsg::Wake) {
                        break;
                    }
                }
            })
        };
        Ok(OutboxState {
            args,
            next_wake: None,
            last_reap: Instant::now(),
            poller,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.poller.abort();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.record_handled();
        match msg {
            OutboxMsg::Wake => {
                if state.next_wake.is_some_and(|t| t <= Instant::now()) {
                    state.next_wake = None;
                }
                if state.last_reap.elapsed() >= state.args.reap_every {
                    state.last_reap = Instant::now();
                    if let Err(err) = recover(&state.args).await {
                        state.args.stats.record_failure();
                        tracing::error!(%err, "outbox could not recover what stopped nodes left");
                    }
                }
                if let Err(err) = state.drain(&myself).await {
                    // The database may be back by the next poll.
                    state.args.stats.record_failure();
                    tracing::error!(%err, "outbox could not claim due sends");
                }
            }
            OutboxMsg::WakeIn(delay) => state.wake_in(&myself, delay),
        }
        Ok(())
    }
}
