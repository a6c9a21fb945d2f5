//! One room: the sockets in it, the numbering and history of its events, and the fan-out of
//! each event to every socket.

use std::collections::HashMap;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::ConnectionId;
use super::history::{History, HistoryLimits, Resume};
use crate::events::RoomEvent;
use crate::ports::EventSink;
use crate::stats::{ActorStats, StatsRegistry};

/// Where a reconnecting socket left a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeFrom {
    pub epoch: String,
    pub seq: u64,
}

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
}

pub(super) struct Room;

pub(super) struct RoomArgs {
    pub name: String,
    pub members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    pub limits: HistoryLimits,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

pub(super) struct RoomState {
    members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    history: History,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
}

impl RoomState {
    /// Sends a joining socket what it is owed, in order, then counts it in. A socket that
    /// cannot take it all is not counted in (its task sees that it fell behind).
    fn join(&mut self, conn: ConnectionId, sink: Arc<dyn EventSink>, resume: Option<ResumeFrom>) {
        let delivered = match resume {
            None => sink.deliver(&self.history.control("joined", "")),
            Some(from) => match self.history.since(&from.epoch, from.seq) {
                Resume::Missed(missed) => {
                    let header = format!(",\"from\":{},\"missed\":{}", from.seq, missed.len());
                    sink.deliver(&self.history.control("resumed", &header))
                        && missed.iter().all(|event| sink.deliver(event))
                }
                Resume::Gone => sink.deliver(&self.history.control("reset", "")),
            },
        };
        if delivered {
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
        let history = History::new(&args.name, args.limits);
        // Members handed over by a restart: what they had cannot be continued.
        let mut members = args.members;
        let reset = history.control("reset", "");
        members.retain(|_, sink| sink.deliver(&reset));
        Ok(RoomState {
            members,
            history,
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
        _myself: ActorRef<Self::Msg>,
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
        }
        Ok(())
    }
}
