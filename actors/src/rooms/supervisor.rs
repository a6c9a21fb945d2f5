//! Owns every room: routes by name, spawns on demand, restarts after a panic, and stops a room
//! once it has no sockets and no history anyone could still resume from.
//!
//! A room starts dormant: its members and its (empty) history are kept here, and joins are
//! answered here. Its actor is spawned with both the first time there is something to fan out.
//! Most user rooms never get an event while their sockets are open, and an actor costs about
//! 8 KB: this keeps an idle socket's share small.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::ConnectionId;
use super::event_log::{EventLog, HistoryLimits, ResumeFrom};
use super::room::{Room, RoomArgs, RoomMsg};
use crate::ports::EventSink;
use crate::protocol::RoomEvent;
use crate::stats::{ActorStats, Mailbox, StatsRegistry};

pub enum RoomsMsg {
    Join {
        room: String,
        conn: ConnectionId,
        sink: Arc<dyn EventSink>,
        resume: Option<ResumeFrom>,
    },
    Leave {
        room: String,
        conn: ConnectionId,
    },
    Publish {
        room: String,
        event: RoomEvent,
    },
    /// Number of members of a room (0 when it does not exist).
    Members {
        room: String,
        reply: RpcReplyPort<usize>,
    },
    /// Every room there is, with its sockets.
    Census {
        reply: RpcReplyPort<Vec<RoomCensus>>,
    },
    /// Stop the room if it is still empty and its history has expired.
    Reap {
        room: String,
    },
    Typing {
        room: String,
        user_id: i64,
        typing: bool,
    },
}

pub struct RoomsSupervisor;

/// One room as an admin sees it: how many sockets it holds and whether it has an actor yet.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoomCensus {
    pub name: String,
    pub sockets: usize,
    /// `false` while the room is dormant: it has sockets but has not had an event to fan out.
    pub active: bool,
    /// Seconds since the room last published (or was opened, before its first event).
    pub idle_seconds: u64,
}

pub struct RoomsSupervisorArgs {
    pub limits: HistoryLimits,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

/// A room's running actor.
struct Active {
    mailbox: Mailbox<RoomMsg>,
    actor_id: ActorId,
}

/// A room is dormant (its history kept here) until it has something to fan out, then active.
enum Phase {
    Dormant(EventLog),
    Active(Active),
}

struct RoomEntry {
    phase: Phase,
    // Kept here as well as in the room so a room that panics comes back with its sockets.
    members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    restarts: u64,
    /// When the room last published: its history is worth keeping until this plus the age
    /// limit.
    last_event: Instant,
}

impl RoomEntry {
    fn active(&self) -> Option<&Active> {
        match &self.phase {
            Phase::Active(active) => Some(active),
            Phase::Dormant(_) => None,
        }
    }
}

pub struct RoomsState {
    limits: HistoryLimits,
    rooms: HashMap<String, RoomEntry>,
    by_actor: HashMap<ActorId, String>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
}

impl RoomsState {
    async fn spawn_actor(
        &mut self,
        myself: &ActorRef<RoomsMsg>,
        name: &str,
        members: HashMap<ConnectionId, Arc<dyn EventSink>>,
        history: Option<EventLog>,
        restarts: u64,
    ) -> Result<Active, ActorProcessingErr> {
        let stats = ActorStats::new("room", name, restarts);
        let args = RoomArgs {
            name: name.to_owned(),
            limits: self.limits,
            members,
            history,
            stats: Arc::clone(&stats),
            registry: Arc::clone(&self.registry),
        };
        let (actor, _) = Actor::spawn_linked(None, Room, args, myself.get_cell()).await?;
        let actor_id = actor.get_id();
        self.registry.insert(actor_id, Arc::clone(&stats));
        self.by_actor.insert(actor_id, name.to_owned());
        Ok(Active {
            mailbox: Mailbox::new(actor, stats),
            actor_id,
        })
    }

    fn dormant_entry(&mut self, name: &str) -> &mut RoomEntry {
        let limits = self.limits;
        self.rooms
            .entry(name.to_owned())
            .or_insert_with(|| RoomEntry {
                phase: Phase::Dormant(EventLog::new(name, limits)),
                members: HashMap::new(),
                restarts: 0,
                last_event: Instant::now(),
            })
    }

    /// The room's actor, spawned from its dormant state if it has none yet.
    async fn wake(
        &mut self,
        myself: &ActorRef<RoomsMsg>,
        name: &str,
    ) -> Result<Option<&Active>, ActorProcessingErr> {
        if matches!(
            self.rooms.get(name).map(|e| &e.phase),
            Some(Phase::Dormant(_))
        ) && let Some(mut entry) = self.rooms.remove(name)
        {
            let Phase::Dormant(history) = entry.phase else {
                unreachable!("checked dormant just above");
            };
            let members = entry.members.clone();
            let active = self
                .spawn_actor(myself, name, members, Some(history), entry.restarts)
                .await?;
            entry.phase = Phase::Active(active);
            self.rooms.insert(name.to_owned(), entry);
        }
        Ok(self.rooms.get(name).and_then(RoomEntry::active))
    }

    /// Checks the room again once what it keeps has expired.
    fn reap_later(&self, myself: &ActorRef<RoomsMsg>, room: &str, at: Instant) {
        let (myself, room) = (myself.clone(), room.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let _ = myself.send_message(RoomsMsg::Reap { room });
        });
    }

    fn forget(&mut self, name: &str) -> Option<RoomEntry> {
        let entry = self.rooms.remove(name)?;
        if let Some(active) = entry.active() {
            self.by_actor.remove(&active.actor_id);
        }
        Some(entry)
    }
}

impl Actor for RoomsSupervisor {
    type Msg = RoomsMsg;
    type State = RoomsState;
    type Arguments = RoomsSupervisorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: RoomsSupervisorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(RoomsState {
            limits: args.limits,
            rooms: HashMap::new(),
            by_actor: HashMap::new(),
            stats: args.stats,
            registry: args.registry,
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
            RoomsMsg::Join {
                room,
                conn,
                sink,
                resume,
            } => {
                let entry = state.dormant_entry(&room);
                match &mut entry.phase {
                    Phase::Active(active) => {
                        entry.members.insert(conn, Arc::clone(&sink));
                        active.mailbox.send(RoomMsg::Join { conn, sink, resume });
                    }
                    Phase::Dormant(history) => {
                        // A sink is the socket's code: if it fails, only that socket is
                        // refused, never the supervisor of every room.
                        let greeted =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                history.greet(sink.as_ref(), resume)
                            }))
                            .unwrap_or(false);
                        if greeted {
                            entry.members.insert(conn, sink);
                        }
                    }
                }
            }
            RoomsMsg::Leave { room, conn } => {
                let now_empty = match state.rooms.get_mut(&room) {
                    Some(entry) => {
                        entry.members.remove(&conn);
                        if let Some(active) = entry.active() {
                            active.mailbox.send(RoomMsg::Leave { conn });
                        }
                        entry.members.is_empty()
                    }
                    None => false,
                };
                if now_empty {
                    // Kept for a while: a socket reconnecting soon can still resume.
                    let at = Instant::now() + state.limits.max_age;
                    state.reap_later(&myself, &room, at);
                }
            }
            RoomsMsg::Reap { room } => {
                let expires = match state.rooms.get(&room) {
                    Some(entry) if entry.members.is_empty() => {
                        Some(entry.last_event + state.limits.max_age)
                    }
                    _ => None,
                };
                match expires {
                    Some(at) if at > Instant::now() => state.reap_later(&myself, &room, at),
                    Some(_) => {
                        if let Some(Phase::Active(active)) = state.forget(&room).map(|e| e.phase) {
                            active.mailbox.actor().stop(Some("empty".to_owned()));
                        }
                    }
                    None => {}
                }
            }
            RoomsMsg::Publish { room, event } => {
                // A room nobody joined has no history to keep the event in: nobody could
                // resume from it.
                if let Some(entry) = state.rooms.get_mut(&room) {
                    entry.last_event = Instant::now();
                    // Publishes piling up here mean the rooms are not keeping up as a whole.
                    let behind = state.stats.backlog() > 0;
                    if let Some(active) = state.wake(&myself, &room).await? {
                        active.mailbox.send(RoomMsg::Publish { event, behind });
                    }
                }
            }
            RoomsMsg::Typing {
                room,
                user_id,
                typing,
            } => {
                let active = match state.rooms.get(&room) {
                    Some(entry) if entry.active().is_some() || typing => {
                        state.wake(&myself, &room).await?
                    }
                    _ => None,
                };
                if let Some(active) = active {
                    active.mailbox.send(RoomMsg::Typing { user_id, typing });
                }
            }
            RoomsMsg::Members { room, reply } => {
                let count = state.rooms.get(&room).map_or(0, |e| e.members.len());
                let _ = reply.send(count);
            }
            RoomsMsg::Census { reply } => {
                let now = Instant::now();
                let mut rooms: Vec<RoomCensus> = state
                    .rooms
                    .iter()
                    .map(|(name, entry)| RoomCensus {
                        name: name.clone(),
                        sockets: entry.members.len(),
                        active: entry.active().is_some(),
                        idle_seconds: now.saturating_duration_since(entry.last_event).as_secs(),
                    })
                    .collect();
                rooms.sort_by(|a, b| b.sockets.cmp(&a.sockets).then_with(|| a.name.cmp(&b.name)));
                let _ = reply.send(rooms);
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
        // ractor's default would stop this supervisor, and every room with it, on one failure.
        let (cell, failure) = match event {
            SupervisionEvent::ActorFailed(cell, err) => (cell, Some(err.to_string())),
            SupervisionEvent::ActorTerminated(cell, _, _) => (cell, None),
            _ => return Ok(()),
        };
        // Rooms this supervisor stopped on purpose were already forgotten.
        let Some(name) = state.by_actor.get(&cell.get_id()).cloned() else {
            return Ok(());
        };
        let Some(entry) = state.forget(&name) else {
            return Ok(());
        };
        state.registry.remove(cell.get_id());
        if entry.members.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            room = %name,
            reason = failure.as_deref().unwrap_or("stopped"),
            members = entry.members.len(),
            "room stopped unexpectedly; restarting it with its members"
        );
        state.stats.record_failure();
        let restarts = entry.restarts + 1;
        let active = state
            .spawn_actor(&myself, &name, entry.members.clone(), None, restarts)
            .await?;
        state.rooms.insert(
            name,
            RoomEntry {
                phase: Phase::Active(active),
                members: entry.members,
                restarts,
                last_event: entry.last_event,
            },
        );
        Ok(())
    }
}
