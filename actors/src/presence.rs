//! Who is online: a user is online while they have at least one socket, and goes offline a
//! short grace period after their last one closes (a page reload is not a departure).
//!
//! Changes are published to the church room as `presence:changed`, gathered over a short
//! window: when hundreds of people connect at once (a service starts, a server restarts), each
//! socket gets a few events listing many changes rather than one event per person.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::Directory;
use crate::protocol::{PresenceChange, PresenceStatus, RoomEvent, church_room};
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
    /// Publish the changes gathered for a church.
    Flush {
        church_id: i64,
    },
}

/// How long changes are gathered before they are published.
const GATHER: Duration = Duration::from_millis(100);

/// Changes in one event at most (about 2 KB): every socket's writer keeps room for the largest
/// frame it has sent, so thousands of sockets each sent one large event would all keep it.
const CHANGES_PER_EVENT: usize = 64;

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
    /// Changes not yet published, per church: user → latest status.
    gathered: HashMap<i64, BTreeMap<i64, PresenceStatus>>,
}

impl PresenceState {
    fn announce(
        &mut self,
        myself: &ActorRef<PresenceMsg>,
        church_id: i64,
        user_id: i64,
        status: PresenceStatus,
    ) {
        let changes = self.gathered.entry(church_id).or_default();
        if changes.is_empty() {
            myself.send_after(GATHER, move || PresenceMsg::Flush { church_id });
        }
        changes.insert(user_id, status);
    }

    fn flush(&mut self, church_id: i64) {
        let Some(changes) = self.gathered.remove(&church_id) else {
            return;
        };
        let timestamp = crate::protocol::timestamp();
        let changes: Vec<PresenceChange> = changes
            .into_iter()
            .map(|(user_id, status)| PresenceChange { user_id, status })
            .collect();
        for part in changes.chunks(CHANGES_PER_EVENT) {
            let event = RoomEvent::PresenceChanged {
                changes: part.to_vec(),
                timestamp: timestamp.clone(),
            };
            self.args.directory.publish(church_room(church_id), event);
        }
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
            gathered: HashMap::new(),
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
                // An entry exists from a user's first socket until they are announced offline.
                let was_online = state.users.contains_key(&(church_id, user_id));
                let seen = state.users.entry((church_id, user_id)).or_default();
                seen.sockets += 1;
                seen.generation += 1;
                if !was_online {
                    state.announce(&myself, church_id, user_id, PresenceStatus::Online);
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
                    state.announce(&myself, church_id, user_id, PresenceStatus::Offline);
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
            PresenceMsg::Flush { church_id } => state.flush(church_id),
        }
        Ok(())
    }
}
