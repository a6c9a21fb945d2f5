//! Starting and stopping the tree, and the [`Directory`] through which the rest of the process
//! reaches the services in it.
//!
//! Services are reached through the directory rather than by holding their `ActorRef`, because
//! a restarted service is a new actor: the start function of each child writes its new mailbox
//! here, and every later message finds it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr};

use crate::batcher::{BatchMsg, BatchOp, Batcher, BatcherArgs};
use crate::delivery::attempts::MarkAttempts;
use crate::delivery::breaker::{Breaker, BreakerArgs, BreakerMsg, BreakerSnapshot, BreakerState};
use crate::delivery::outbox::{Outbox, OutboxArgs, OutboxMsg};
use crate::delivery::{DeliveryConfig, SendJob};
use crate::dlq::{DeadLetterQueue, DlqArgs, DlqMsg};
use crate::events::{MessageEvent, RoomEvent};
use crate::limiter::{
    self, Decision, KeyActors, Ledger, LimitKey, LimiterArgs, LimiterMsg, LimiterSupervisor, Policy,
};
use crate::ports::{
    AttemptStart, DeadLetter, DeliveryStore, EventSink, LimitHistory, PortFuture, Report,
    ReportOutcome, SmsGateway,
};
use crate::presence::{Presence, PresenceArgs, PresenceMsg};
use crate::reports::ApplyReports;
use crate::rooms::{
    ConnectionId, HistoryLimits, ResumeFrom, RoomsMsg, RoomsSupervisor, RoomsSupervisorArgs,
};
use crate::stats::{ActorNode, ActorStats, Mailbox, StatsRegistry};
use crate::supervisor::{ChildSpec, RootMsg, RootSupervisor};

#[derive(Debug, Clone, Default)]
pub struct SystemConfig {
    pub delivery: DeliveryConfig,
    pub room_history: HistoryLimits,
    /// How long a user stays online after their last socket closes.
    pub presence_grace: Duration,
}

/// The current mailbox of each top-level service.
#[derive(Default)]
pub struct Directory {
    rooms: RwLock<Option<Mailbox<RoomsMsg>>>,
    delivery: RwLock<Option<Mailbox<BreakerMsg>>>,
    dlq: RwLock<Option<Mailbox<DlqMsg>>>,
    outbox: RwLock<Option<Mailbox<OutboxMsg>>>,
    reports: RwLock<Option<Mailbox<BatchMsg<ApplyReports>>>>,
    attempts: RwLock<Option<Mailbox<BatchMsg<MarkAttempts>>>>,
    presence: RwLock<Option<Mailbox<PresenceMsg>>>,
    limiter: RwLock<Option<Mailbox<LimiterMsg>>>,
    /// Live limiter actors by key, asked directly by callers.
    limiter_actors: KeyActors,
    /// Every live key's buckets, kept across limiter restarts.
    ledger: Arc<Ledger>,
}

fn current<M: ractor::Message>(slot: &RwLock<Option<Mailbox<M>>>) -> Option<Mailbox<M>> {
    slot.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn replace<M: ractor::Message>(slot: &RwLock<Option<Mailbox<M>>>, mailbox: Mailbox<M>) {
    *slot.write().unwrap_or_else(|e| e.into_inner()) = Some(mailbox);
}

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

async fn submit_and_wait<Op: BatchOp>(
    slot: &RwLock<Option<Mailbox<BatchMsg<Op>>>>,
    item: Op::Item,
) -> Option<Result<Op::Outcome, String>> {
    let m = current(slot)?;
    m.actor()
        .call(
            |reply| BatchMsg::Submit(item, Some(reply)),
            Some(CALL_TIMEOUT),
        )
        .await
        .ok()?
        .success_or(())
        .ok()
}

impl Directory {
    /// Puts a socket in a room. With `resume`, the room first sends it the events it missed
    /// since then (or a `reset` if they are gone); without, a `joined` frame.
    pub fn join(
        &self,
        room: String,
        conn: ConnectionId,
        sink: Arc<dyn EventSink>,
        resume: Option<ResumeFrom>,
    ) -> bool {
        current(&self.rooms).is_some_and(|m| {
            m.send(RoomsMsg::Join {
                room,
                conn,
                sink,
                resume,
            })
        })
    }

    pub fn leave(&self, room: String, conn: ConnectionId) {
        if let Some(m) = current(&self.rooms) {
            m.send(RoomsMsg::Leave { room, conn });
        }
    }

    pub fn publish(&self, room: String, event: RoomEvent) {
        if let Some(m) = current(&self.rooms) {
            m.send(RoomsMsg::Publish { room, event });
        }
    }

    pub fn publish_message_event(&self, event: &MessageEvent) {
        self.publish(event.room(), event.to_room_event());
    }

    /// How many sockets are in a room right now.
    pub async fn room_members(&self, room: &str) -> Option<usize> {
        let m = current(&self.rooms)?;
        let room = room.to_owned();
        m.actor()
            .call(
                |reply| RoomsMsg::Members { room, reply },
                Some(CALL_TIMEOUT),
            )
            .await
            .ok()?
            .success_or(())
            .ok()
    }

    /// Applies a report (batched with others) and returns what became of it. `None` if the
    /// report writer is not running or did not answer in time.
    pub async fn report(&self, report: Report) -> Option<Result<ReportOutcome, String>> {
        submit_and_wait(&self.reports, report).await
    }

    /// A user started or stopped typing in a room.
    pub fn typing(&self, room: String, user_id: i64, typing: bool) {
        if let Some(m) = current(&self.rooms) {
            m.send(RoomsMsg::Typing {
                room,
                user_id,
                typing,
            });
        }
    }

    /// A socket of this user opened.
    pub fn connected(&self, church_id: i64, user_id: i64) {
        if let Some(m) = current(&self.presence) {
            m.send(PresenceMsg::Connected { church_id, user_id });
        }
    }

    /// A socket of this user closed.
    pub fn disconnected(&self, church_id: i64, user_id: i64) {
        if let Some(m) = current(&self.presence) {
            m.send(PresenceMsg::Disconnected { church_id, user_id });
        }
    }

    /// The users of a church online now; `None` if presence is not running.
    pub async fn online(&self, church_id: i64) -> Option<Vec<i64>> {
        let m = current(&self.presence)?;
        m.actor()
            .call(
                |reply| PresenceMsg::Online { church_id, reply },
                Some(CALL_TIMEOUT),
            )
            .await
            .ok()?
            .success_or(())
            .ok()
    }

    /// Queues a report without waiting for it to be applied. Returns `false` if the report
    /// writer is not running.
    pub fn report_later(&self, report: Report) -> bool {
        current(&self.reports).is_some_and(|m| m.send(BatchMsg::Submit(report, None)))
    }

    /// Marks a claimed recipient as being sent (batched with other workers' marks). `None` if
    /// the attempt marker is not running or did not answer in time.
    pub async fn begin_attempt(&self, recipient_id: i64) -> Option<Result<AttemptStart, String>> {
        submit_and_wait(&self.attempts, recipient_id).await
    }

    /// New due work in the outbox (a message was stored).
    pub fn wake_outbox(&self) {
        if let Some(m) = current(&self.outbox) {
            m.send(OutboxMsg::Wake);
        }
    }

    /// Work becomes due in the outbox after `delay` (a retry was scheduled).
    pub fn wake_outbox_in(&self, delay: Duration) {
        if let Some(m) = current(&self.outbox) {
            m.send(OutboxMsg::WakeIn(delay));
        }
    }

    /// Counts `cost` requests of `key` against `policy`. `None` when the limiter is not
    /// running or did not answer in time: the caller lets the request through.
    pub async fn check_limit(&self, key: &LimitKey, policy: Policy, cost: u32) -> Option<Decision> {
        let supervisor = current(&self.limiter).map(|m| m.actor().clone());
        limiter::check(
            &self.limiter_actors,
            &self.ledger,
            supervisor,
            key,
            policy,
            cost,
        )
        .await
    }

    /// What the limiters hold, for the abuse view.
    pub fn limits_ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Hands claimed recipients to the breaker. Returns `false` if it is not running.
    pub fn submit(&self, jobs: Vec<SendJob>) -> bool {
        current(&self.delivery).is_some_and(|m| m.send(BreakerMsg::Submit(jobs)))
    }

    pub fn dead_letter(&self, letter: DeadLetter) {
        match current(&self.dlq) {
            Some(m) if m.send(DlqMsg::Add(letter.clone())) => {}
            _ => tracing::error!(
                recipient = letter.recipient_id,
                reason = %letter.reason,
                "dead-letter queue is not running; entry only logged"
            ),
        }
    }

    /// An admin's order to the breaker. `None` if it is not running.
    pub async fn set_breaker(
        &self,
        state: BreakerState,
    ) -> Option<Result<BreakerSnapshot, String>> {
        let m = current(&self.delivery)?;
        m.actor()
            .call(|reply| BreakerMsg::Set { state, reply }, Some(CALL_TIMEOUT))
            .await
            .ok()?
            .success_or(())
            .ok()
    }

    pub async fn breaker_snapshot(&self) -> Option<BreakerSnapshot> {
        let m = current(&self.delivery)?;
        m.actor()
            .call(BreakerMsg::Snapshot, Some(CALL_TIMEOUT))
            .await
            .ok()?
            .success_or(())
            .ok()
    }
}

/// A running tree.
pub struct ActorSystem {
    root: ActorRef<RootMsg>,
    directory: Arc<Directory>,
    registry: Arc<StatsRegistry>,
}

async fn spawn_registered<A: Actor>(
    actor: A,
    args: A::Arguments,
    supervisor: ActorCell,
    registry: &StatsRegistry,
    stats: &Arc<ActorStats>,
) -> Result<ActorRef<A::Msg>, ActorProcessingErr> {
    let (actor_ref, _) = Actor::spawn_linked(None, actor, args, supervisor).await?;
    registry.insert(actor_ref.get_id(), Arc::clone(stats));
    Ok(actor_ref)
}

impl ActorSystem {
    pub async fn start(
        config: SystemConfig,
        gateway: Arc<dyn SmsGateway>,
        store: Arc<dyn DeliveryStore>,
        limit_history: Arc<dyn LimitHistory>,
    ) -> Result<Self, SpawnErr> {
        let directory = Arc::new(Directory::default());
        let registry = Arc::new(StatsRegistry::default());

        let rooms = {
            let registry_for_rooms = Arc::clone(&registry);
            let limits = config.room_history;
            service(
                ("rooms", "supervisor"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.rooms, m)),
                move |stats| {
                    let registry = Arc::clone(&registry_for_rooms);
                    (
                        RoomsSupervisor,
                        RoomsSupervisorArgs {
                            limits,
                            stats,
                            registry,
                        },
                    )
                },
            )
        };
        let presence = {
            let (dir, grace) = (Arc::clone(&directory), config.presence_grace);
            service(
                ("presence", "presence"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.presence, m)),
                move |stats| {
                    let directory = Arc::clone(&dir);
                    (
                        Presence,
                        PresenceArgs {
                            grace,
                            directory,
                            stats,
                        },
                    )
                },
            )
        };
        let limiter = {
            let (dir, reg) = (Arc::clone(&directory), Arc::clone(&registry));
            service(
                ("limiter", "supervisor"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.limiter, m)),
                move |stats| {
                    let args = LimiterArgs {
                        ledger: Arc::clone(&dir.ledger),
                        history: Arc::clone(&limit_history),
                        actors: Arc::clone(&dir.limiter_actors),
                        registry: Arc::clone(&reg),
                        stats,
                    };
                    (LimiterSupervisor, args)
                },
            )
        };
        let dlq = {
            let (store, dir) = (Arc::clone(&store), Arc::clone(&directory));
            service(
                ("dlq", "dead-letter-queue"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.dlq, m)),
                move |stats| {
                    let (store, directory) = (Arc::clone(&store), Arc::clone(&dir));
                    (
                        DeadLetterQueue,
                        DlqArgs {
                            store,
                            directory,
                            stats,
                        },
                    )
                },
            )
        };
        let reports = {
            let (store, dir) = (Arc::clone(&store), Arc::clone(&directory));
            let op = Arc::new(ApplyReports {
                store,
                directory: dir,
            });
            service(
                ("reports", "report-writer"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.reports, m)),
                move |stats| batcher(&op, stats),
            )
        };
        let attempts = {
            let (store, dir) = (Arc::clone(&store), Arc::clone(&directory));
            let op = Arc::new(MarkAttempts {
                store,
                directory: dir,
            });
            service(
                ("attempts", "attempt-marker"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.attempts, m)),
                move |stats| batcher(&op, stats),
            )
        };
        let delivery = {
            let (store, dir, reg) = (
                Arc::clone(&store),
                Arc::clone(&directory),
                Arc::clone(&registry),
            );
            let config = config.delivery.clone();
            service(
                ("breaker", "circuit-breaker"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.delivery, m)),
                move |stats| {
                    let args = BreakerArgs {
                        config: config.clone(),
                        gateway: Arc::clone(&gateway),
                        store: Arc::clone(&store),
                        directory: Arc::clone(&dir),
                        stats,
                        registry: Arc::clone(&reg),
                    };
                    (Breaker, args)
                },
            )
        };
        let outbox = {
            let (store, dir) = (Arc::clone(&store), Arc::clone(&directory));
            let (batch, poll) = (config.delivery.outbox_batch, config.delivery.outbox_poll);
            service(
                ("outbox", "outbox"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.outbox, m)),
                move |stats| {
                    let (store, directory) = (Arc::clone(&store), Arc::clone(&dir));
                    let args = OutboxArgs {
                        store,
                        directory,
                        stats,
                        batch,
                        poll,
                    };
                    (Outbox, args)
                },
            )
        };

        let (root, _) = Actor::spawn(
            None,
            RootSupervisor,
            // Rooms, the DLQ and the breaker start before the outbox, so that the work it
            // recovers and claims finds them.
            vec![
                rooms, presence, limiter, dlq, reports, attempts, delivery, outbox,
            ],
        )
        .await?;
        registry.insert(root.get_id(), ActorStats::new("supervisor", "root", 0));
        Ok(Self {
            root,
            directory,
            registry,
        })
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// The live tree with each actor's counters.
    pub fn tree(&self) -> ActorNode {
        self.registry.snapshot(&self.root.get_cell())
    }

    /// Stops every actor, parents before children so that no supervisor restarts what is
    /// being stopped.
    pub async fn shutdown(&self) {
        stop_tree(self.root.get_cell()).await;
    }
}

/// Where a service's new mailbox goes in the directory.
type Register<M> = fn(&Directory, Mailbox<M>);

/// A top-level child: on every (re)start, fresh counters, the actor and its arguments from
/// `build`, and its mailbox written to the directory.
fn service<A, F>(
    (name, kind): (&'static str, &'static str),
    directory: &Arc<Directory>,
    registry: &Arc<StatsRegistry>,
    register: Option<Register<A::Msg>>,
    build: F,
) -> ChildSpec
where
    A: Actor,
    F: Fn(Arc<ActorStats>) -> (A, A::Arguments) + Send + Sync + 'static,
{
    let (directory, registry) = (Arc::clone(directory), Arc::clone(registry));
    ChildSpec {
        name,
        start: Box::new(move |sup, restarts| {
            let stats = ActorStats::new(kind, name, restarts);
            let (actor, args) = build(Arc::clone(&stats));
            let (directory, registry) = (Arc::clone(&directory), Arc::clone(&registry));
            boxed(async move {
                let actor_ref = spawn_registered(actor, args, sup, &registry, &stats).await?;
                if let Some(register) = register {
                    register(&directory, Mailbox::new(actor_ref.clone(), stats));
                }
                Ok(actor_ref.get_cell())
            })
        }),
    }
}

fn batcher<Op: BatchOp>(op: &Arc<Op>, stats: Arc<ActorStats>) -> (Batcher<Op>, BatcherArgs<Op>) {
    let op = Arc::clone(op);
    (Batcher::default(), BatcherArgs { op, stats })
}

fn stop_tree(cell: ActorCell) -> PortFuture<'static, ()> {
    Box::pin(async move {
        let children = cell.get_children();
        let _ = cell
            .stop_and_wait(Some("shutdown".to_owned()), Some(Duration::from_secs(5)))
            .await;
        for child in children {
            stop_tree(child).await;
        }
    })
}

fn boxed<F>(f: F) -> PortFuture<'static, Result<ActorCell, ActorProcessingErr>>
where
    F: std::future::Future<Output = Result<ActorCell, ActorProcessingErr>> + Send + 'static,
{
    Box::pin(f)
}
