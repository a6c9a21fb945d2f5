//! Who is online: a user is online while they have at least one socket, and goes offline a
//! short grace period after their last one closes (a page reload is not a departure). Each
//! change is published to the user's church room as `presence:changed`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::json;

use crate::Directory;
use crate::events::{RoomEvent, church_room};
use crate::stats::ActorStats;

pub enum PresenceMsg {
    Connected {
        church_id: i64,
        user_id: i64,
    },
    Disconnected {
        church_id: i64,
        user_id: i64,
    },
    /// The grace period of the disconnection numbered `generation` is over.
    Expire {
        church_id: i64,
        user_id: i64,
        generation: u64,
    },
    /// The users of a church online now.
    Online {
        church_id: i64,
        reply: RpcReplyPort<Vec<i64>>,
    },
}

pub struct Presence;

pub struct PresenceArgs {
    pub grace: Duration,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
}

#[derive(Default)]
struct Seen {
    sockets: u32,
    /// Bumped on every connection, so that an older grace timer does nothing.
    generation: u64,
}

pub struct PresenceState {
    args: PresenceArgs,
    users: HashMap<(i64, i64), Seen>,
}

impl PresenceState {
    fn announce(&self, church_id: i64, user_id: i64, status: &str) {
        let event = json!({
            "type": "presence:changed",
            "userId": user_id,
            "status": status,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        self.args
            .directory
            .publish(church_room(church_id), RoomEvent::from_json(&event));
    }
}

impl Actor for Presence {
    type Msg = PresenceMsg;
    type State = PresenceState;
    type Arguments = PresenceArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: PresenceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(PresenceState {
            args,
            users: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.record_handled();
        match msg {
            PresenceMsg::Connected { church_id, user_id } => {
                let seen = state.users.entry((church_id, user_id)).or_default();
                let was_online = seen.sockets > 0 || seen.generation > 0;
                seen.sockets += 1;
                seen.generation += 1;
                if !was_online {
                    state.announce(church_id, user_id, "online");
                }
            }
            PresenceMsg::Disconnected { church_id, user_id } => {
                if let Some(seen) = state.users.get_mut(&(church_id, user_id)) {
                    seen.sockets = seen.sockets.saturating_sub(1);
                    if seen.sockets == 0 {
                        let generation = seen.generation;
                        myself.send_after(state.args.grace, move || PresenceMsg::Expire {
                            church_id,
                            user_id,
                            generation,
                        });
                    }
                }
            }
            PresenceMsg::Expire {
                church_id,
                user_id,
                generation,
            } => {
                let gone = state
                    .users
                    .get(&(church_id, user_id))
                    .is_some_and(|s| s.sockets == 0 && s.generation == generation);
                if gone {
                    state.users.remove(&(church_id, user_id));
                    state.announce(church_id, user_id, "offline");
                }
            }
            PresenceMsg::Online { church_id, reply } => {
                let mut online: Vec<i64> = state
                    .users
                    .keys()
                    .filter(|(church, _)| *church == church_id)
                    .map(|(_, user)| *user)
                    .collect();
                online.sort_unstable();
                let _ = reply.send(online);
            }
        }
        Ok(())
    }
}
