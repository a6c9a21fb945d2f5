//! One room: the sockets in it, the numbering and history of its events, and the fan-out of
//! each event to every socket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::ConnectionId;
use super::history::{History, HistoryLimits, ResumeFrom};
use crate::events::RoomEvent;
use crate::ports::EventSink;
use crate::stats::{ActorStats, StatsRegistry};

pub enum RoomMsg {
    Join {
        conn: ConnectionId,
        sink: Arc<dyn EventSink>,
        resume: Option<ResumeFrom>,
    },
    Leave {
        conn: ConnectionId,
    },
    Publish(RoomEvent),
    /// A user started or stopped typing here.
    Typing {
        user_id: i64,
        typing: bool,
    },
    /// Drop typing marks that were not renewed in time.
    ExpireTyping,
}

/// How long a `typing:start` lasts unless renewed.
pub const TYPING_TTL: Duration = Duration::from_secs(5);

pub(super) struct Room;

pub(super) struct RoomArgs {
    pub name: String,
    pub members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    /// The history the room had before it had an actor; `None` after a restart, when it is
    /// lost.
    pub history: Option<History>,
    pub limits: HistoryLimits,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

pub(super) struct RoomState {
    name: String,
    members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    history: History,
    /// Who is typing, until when.
    typing: BTreeMap<i64, Instant>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
}

impl RoomState {
    /// Tells everyone the full list of who is typing. Not numbered or kept: it is stale by
    /// the time anyone could resume.
    fn announce_typing(&mut self, room: &str) {
        let users: Vec<i64> = self.typing.keys().copied().collect();
        let event = RoomEvent::from_json(&serde_json::json!({
            "type": "typing", "room": room, "userIds": users,
        }));
        self.members.retain(|_, sink| sink.deliver(&event));
    }

    /// Marks (or renews) a user as typing; only a change is announced, so a client repeating
    /// `typing:start` while it types costs nothing.
    fn typing(&mut self, myself: &ActorRef<RoomMsg>, room: &str, user_id: i64, typing: bool) {
        let changed = if typing {
            let expires = Instant::now() + TYPING_TTL;
            let new = self.typing.insert(user_id, expires).is_none();
            myself.send_after(TYPING_TTL, || RoomMsg::ExpireTyping);
            new
        } else {
            self.typing.remove(&user_id).is_some()
        };
        if changed {
            self.announce_typing(room);
        }
    }

    fn expire_typing(&mut self, room: &str) {
        let now = Instant::now();
        let before = self.typing.len();
        self.typing.retain(|_, until| *until > now);
        if self.typing.len() != before {
            self.announce_typing(room);
        }
    }

    /// Greets a joining socket (see [`History::greet`]), then counts it in. A socket that
    /// cannot take it all is not counted in (its task sees that it fell behind).
    fn join(&mut self, conn: ConnectionId, sink: Arc<dyn EventSink>, resume: Option<ResumeFrom>) {
        if self.history.greet(sink.as_ref(), resume) {
            self.members.insert(conn, sink);
        }
    }
}

impl Actor for Room {
    type Msg = RoomMsg;
    type State = RoomState;
    type Arguments = RoomArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: RoomArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let name = args.name.clone();
        let mut members = args.members;
        let history = match args.history {
            Some(history) => history,
            None => {
                // Members handed over by a restart: what they had cannot be continued.
                let history = History::new(&args.name, args.limits);
                let reset = history.control("reset", "");
                members.retain(|_, sink| sink.deliver(&reset));
                history
            }
        };
        Ok(RoomState {
            name,
            members,
            history,
            typing: BTreeMap::new(),
            stats: args.stats,
            registry: args.registry,
        })
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.registry.remove(myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.record_handled();
        match msg {
            RoomMsg::Join { conn, sink, resume } => state.join(conn, sink, resume),
            RoomMsg::Leave { conn } => {
                state.members.remove(&conn);
            }
            RoomMsg::Publish(event) => {
                let numbered = state.history.record(&event);
                // A sink that cannot take the event has closed or fallen behind; its socket task
                // sees that too and leaves, so the room only stops writing to it.
                state.members.retain(|_, sink| sink.deliver(&numbered));
            }
            RoomMsg::Typing { user_id, typing } => {
                let room = state.name.clone();
                state.typing(&myself, &room, user_id, typing);
            }
            RoomMsg::ExpireTyping => {
                let room = state.name.clone();
                state.expire_typing(&room);
            }
        }
        Ok(())
    }
}
