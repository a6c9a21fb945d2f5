//! One room: the sockets in it and the fan-out of each event to all of them.

use std::collections::HashMap;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::ConnectionId;
use crate::events::RoomEvent;
use crate::ports::EventSink;
use crate::stats::{ActorStats, StatsRegistry};

pub enum RoomMsg {
    Join {
        conn: ConnectionId,
        sink: Arc<dyn EventSink>,
    },
    Leave {
        conn: ConnectionId,
    },
    Publish(RoomEvent),
}

pub(super) struct Room;

pub(super) struct RoomArgs {
    pub members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

pub(super) struct RoomState {
    members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
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
        Ok(RoomState {
            members: args.members,
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
            RoomMsg::Join { conn, sink } => {
                state.members.insert(conn, sink);
            }
            RoomMsg::Leave { conn } => {
                state.members.remove(&conn);
            }
            RoomMsg::Publish(event) => {
                // A sink that cannot take the event has closed or fallen behind; its socket task
                // sees that too and leaves, so the room only stops writing to it.
                state.members.retain(|_, sink| sink.deliver(&event));
            }
        }
        Ok(())
    }
}
