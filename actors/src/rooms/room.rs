//! One room: the sockets in it, the numbering and history of its events, and the fan-out of
//! each event to every socket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::ConnectionId;
use super::event_log::{EventLog, HistoryLimits, ResumeFrom};
use crate::ports::EventSink;
use crate::protocol::{EncodedFrame, Frame, RoomEvent};
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
    Publish {
        event: RoomEvent,
        /// More publishes were waiting for the rooms when this one was routed.
        behind: bool,
    },
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
    pub history: Option<EventLog>,
    pub limits: HistoryLimits,
    pub stats: Arc<ActorStats>,
    pub registry: Arc<StatsRegistry>,
}

pub(super) struct RoomState {
    name: String,
    members: HashMap<ConnectionId, Arc<dyn EventSink>>,
    history: EventLog,
    /// Who is typing, until when.
    typing: BTreeMap<i64, Instant>,
    stats: Arc<ActorStats>,
    registry: Arc<StatsRegistry>,
}

impl RoomState {
    /// Tells everyone the full list of who is typing. Not numbered or kept: it is stale by
    /// the time anyone could resume.
    fn announce_typing(&mut self, room: &str) {
        let typing = Frame::Typing {
            room: room.to_owned(),
            user_ids: self.typing.keys().copied().collect(),
        };
        let event = EncodedFrame::frame(&typing);
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

    /// Greets a joining socket (see [`EventLog::greet`]), then counts it in. A socket that
    /// cannot take it all is not counted in (its task sees that it fell behind).
    fn join(&mut self, conn: ConnectionId, sink: Arc<dyn EventSink>, resume: Option<ResumeFrom>) {
        if self.history.greet(sink.as_ref(), resume) {
            self.members.insert(conn, sink);
        }
    }
}

/// A room's sockets, by connection.
type Members = HashMap<ConnectionId, Arc<dyn EventSink>>;

/// Rooms at least this large share a fan-out between this thread and one other.
const SHARED_FAN_OUT: usize = 1024;

/// Delivers `event` to every member, forgetting those that cannot take it. A large room's
/// deliveries (each a system call, see the server's wire) are split across two threads, so
/// that one event reaches everyone in about half the time when a core is free. A room that is
/// `behind` leaves the writes to the sockets' tasks instead, which gather what waits.
fn fan_out(members: &mut Members, event: &EncodedFrame, behind: bool) {
    let deliver = |sink: &Arc<dyn EventSink>| match behind {
        false => sink.deliver(event),
        true => sink.deliver_in_backlog(event),
    };
    // Behind, a delivery is only a push and a wake-up: not worth a second thread.
    if behind || members.len() < SHARED_FAN_OUT {
        members.retain(|_, sink| deliver(sink));
        return;
    }
    let all: Vec<(&ConnectionId, &Arc<dyn EventSink>)> = members.iter().collect();
    let (first, second) = all.split_at(all.len() / 2);
    let refused = |part: &[(&ConnectionId, &Arc<dyn EventSink>)]| -> Vec<ConnectionId> {
        part.iter()
            .filter(|(_, sink)| !deliver(sink))
            .map(|(conn, _)| **conn)
            .collect()
    };
    let gone: Vec<ConnectionId> = std::thread::scope(|scope| {
        let helper = scope.spawn(|| refused(second));
        let mut gone = refused(first);
        // A panicking sink is a bug in it; its half counts as delivered.
        gone.extend(helper.join().unwrap_or_default());
        gone
    });
    drop(all);
    for conn in gone {
        members.remove(&conn);
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
                let history = EventLog::new(&args.name, args.limits);
                let reset = history.reset();
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
            RoomMsg::Publish { event, behind } => {
                let numbered = state.history.record(&event);
                // A sink that cannot take the event has closed or fallen behind; its socket task
                // sees that too and leaves, so the room only stops writing to it.
                // Behind (events wait here or before the rooms): each socket's task will write
                // several at once.
                let behind = behind || state.stats.backlog() > 0;
                fan_out(&mut state.members, &numbered, behind);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts what it is given; refuses everything when `open` is false.
    struct Counting {
        open: bool,
        delivered: AtomicUsize,
    }

    impl EventSink for Counting {
        fn deliver(&self, _event: &EncodedFrame) -> bool {
            self.delivered.fetch_add(1, Ordering::Relaxed);
            self.open
        }
    }

    fn room_of(size: usize) -> (Members, Vec<Arc<Counting>>) {
        let sinks: Vec<Arc<Counting>> = (0..size)
            .map(|i| {
                Arc::new(Counting {
                    open: i % 7 != 3,
                    delivered: AtomicUsize::new(0),
                })
            })
            .collect();
        let members = sinks
            .iter()
            .enumerate()
            .map(|(i, sink)| (i as ConnectionId, Arc::clone(sink) as Arc<dyn EventSink>))
            .collect();
        (members, sinks)
    }

    #[test]
    fn every_member_gets_the_event_once_and_refusers_are_forgotten_in_rooms_of_any_size() {
        let sizes = [10, SHARED_FAN_OUT - 1, SHARED_FAN_OUT, 5_000];
        for (size, behind) in sizes.into_iter().flat_map(|n| [(n, false), (n, true)]) {
            let (mut members, sinks) = room_of(size);
            let frame = EncodedFrame::frame(&Frame::Pong { id: None });
            fan_out(&mut members, &frame, behind);
            assert!(
                sinks
                    .iter()
                    .all(|s| s.delivered.load(Ordering::Relaxed) == 1),
                "size {size}"
            );
            let open = (0..size).filter(|i| i % 7 != 3).count();
            assert_eq!(members.len(), open, "size {size}");
            assert!(members.keys().all(|conn| conn % 7 != 3), "size {size}");
        }
    }
}
