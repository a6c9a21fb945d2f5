//! Starting and stopping the tree. The rest of the process reaches the services in it through
//! the [`Directory`], which every (re)start of a service updates.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr};

use crate::batcher::{BatchOp, Batcher, BatcherArgs};
use crate::delivery::DeliveryConfig;
use crate::delivery::attempts::MarkAttempts;
use crate::delivery::breaker::{Breaker, BreakerArgs};
use crate::delivery::outbox::{Outbox, OutboxArgs};
use crate::delivery::reconciler::{Reconciler, ReconcilerArgs};
use crate::directory::{Directory, replace};
use crate::dlq::{DeadLetterQueue, DlqArgs};
use crate::limiter::{LimiterArgs, LimiterSupervisor};
use crate::notifier::{Notifier, NotifierArgs};
use crate::ports::{DeliveryStore, LimitHistory, NotificationStore, PortFuture, SmsGateway};
use crate::presence::{Presence, PresenceArgs};
use crate::report_writer::ApplyReports;
use crate::rooms::{HistoryLimits, RoomsSupervisor, RoomsSupervisorArgs};
use crate::root_supervisor::{ChildSpec, RootMsg, RootSupervisor};
use crate::stats::{ActorNode, ActorStats, Mailbox, StatsRegistry};

#[derive(Debug, Clone, Default)]
pub struct SystemConfig {
    pub delivery: DeliveryConfig,
    pub room_history: HistoryLimits,
    /// How long a user stays online after their last socket closes.
    pub presence_grace: Duration,
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
        notifications: Arc<dyn NotificationStore>,
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
        let notifier = {
            let dir = Arc::clone(&directory);
            service(
                ("notifier", "notifier"),
                &directory,
                &registry,
                Some(|d, m| replace(&d.notifier, m)),
                move |stats| {
                    let args = NotifierArgs {
                        store: Arc::clone(&notifications),
                        directory: Arc::clone(&dir),
                        stats,
                    };
                    (Notifier, args)
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
        let reconciler = {
            let (store, dir, gateway) = (
                Arc::clone(&store),
                Arc::clone(&directory),
                Arc::clone(&gateway),
            );
            let config = config.delivery.reconcile.clone();
            service(
                ("reconciler", "reconciler"),
                &directory,
                &registry,
                None,
                move |stats| {
                    let args = ReconcilerArgs {
                        config: config.clone(),
                        gateway: Arc::clone(&gateway),
                        store: Arc::clone(&store),
                        directory: Arc::clone(&dir),
                        stats,
                    };
                    (Reconciler, args)
                },
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
            let reap_every = config.delivery.outbox_reap;
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
                        reap_every,
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
                rooms, presence, limiter, notifier, dlq, reports, attempts, delivery, outbox,
                reconciler,
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

    /// Whether the root supervisor is running (it stops only when the tree is stopped).
    pub fn is_running(&self) -> bool {
        self.root.get_status() == ractor::ActorStatus::Running
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
