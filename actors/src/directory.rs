//! The [`Directory`]: how the rest of the process reaches the services of the tree.
//!
//! Services are reached through the directory rather than by holding their `ActorRef`, because
//! a restarted service is a new actor: the start function of each child writes its new mailbox
//! here, and every later message finds it. A call that cannot be answered says why with a
//! [`CallError`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::batcher::{BatchMsg, BatchOp};
use crate::delivery::attempts::MarkAttempts;
use crate::delivery::breaker::{BreakerMsg, BreakerSnapshot, BreakerState, NotSettable};
use crate::delivery::church_holds::{ChurchHolds, Hold};
use crate::delivery::outbox::OutboxMsg;
use crate::dlq::DlqMsg;
use crate::limiter::{self, Decision, KeyActors, Ledger, LimitKey, LimiterMsg, Policy};
use crate::notifier::{BulkSend, NotifierMsg};
use crate::ports::{
    Announcement, AttemptStart, Audience, DeadLetter, EventSink, NewNotification, OutboundSms,
    Report, ReportOutcome, StoreError,
};
use crate::presence::PresenceMsg;
use crate::protocol::{
    MessageEvent, NotificationCounts, NotificationUpdate, RoomEvent, church_room,
};
use crate::report_writer::ApplyReports;
use crate::rooms::{ConnectionId, ResumeFrom, RoomCensus, RoomsMsg};
use crate::stats::Mailbox;

/// Why a call into the tree got no answer, or which answer it got instead of the one asked
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError<E = std::convert::Infallible> {
    /// The service is not running: stopped, or between a crash and its restart.
    NotRunning,
    /// It did not answer in time.
    NoAnswer,
    /// It answered with this failure.
    Failed(E),
}

impl<E: std::fmt::Display> std::fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRunning => f.write_str("the service is not running"),
            Self::NoAnswer => f.write_str("the service did not answer in time"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for CallError<E> {}

/// The current mailbox of each top-level service.
#[derive(Default)]
pub struct Directory {
    pub(crate) rooms: RwLock<Option<Mailbox<RoomsMsg>>>,
    pub(crate) delivery: RwLock<Option<Mailbox<BreakerMsg>>>,
    pub(crate) dlq: RwLock<Option<Mailbox<DlqMsg>>>,
    pub(crate) outbox: RwLock<Option<Mailbox<OutboxMsg>>>,
    pub(crate) reports: RwLock<Option<Mailbox<BatchMsg<ApplyReports>>>>,
    pub(crate) attempts: RwLock<Option<Mailbox<BatchMsg<MarkAttempts>>>>,
    pub(crate) presence: RwLock<Option<Mailbox<PresenceMsg>>>,
    pub(crate) limiter: RwLock<Option<Mailbox<LimiterMsg>>>,
    pub(crate) notifier: RwLock<Option<Mailbox<NotifierMsg>>>,
    /// Live limiter actors by key, asked directly by callers.
    pub(crate) limiter_actors: KeyActors,
    /// Every live key's buckets, kept across limiter restarts.
    pub(crate) ledger: Arc<Ledger>,
    /// Churches that paused their sending, kept across breaker restarts.
    pub(crate) church_holds: ChurchHolds,
}

pub(crate) fn current<M: ractor::Message>(slot: &RwLock<Option<Mailbox<M>>>) -> Option<Mailbox<M>> {
    slot.read().unwrap_or_else(|e| e.into_inner()).clone()
}

pub(crate) fn replace<M: ractor::Message>(slot: &RwLock<Option<Mailbox<M>>>, mailbox: Mailbox<M>) {
    *slot.write().unwrap_or_else(|e| e.into_inner()) = Some(mailbox);
}

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks a service and waits for its answer, at most [`CALL_TIMEOUT`].
async fn ask<M: ractor::Message, T: Send + 'static>(
    slot: &RwLock<Option<Mailbox<M>>>,
    message: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
) -> Result<T, CallError<std::convert::Infallible>> {
    let m = current(slot).ok_or(CallError::NotRunning)?;
    match m.actor().call(message, Some(CALL_TIMEOUT)).await {
        Ok(ractor::rpc::CallResult::Success(answer)) => Ok(answer),
        Ok(ractor::rpc::CallResult::Timeout) => Err(CallError::NoAnswer),
        // The actor stopped before it answered.
        Ok(ractor::rpc::CallResult::SenderError) | Err(_) => Err(CallError::NotRunning),
    }
}

/// An answer that is itself a success or a failure.
fn flatten<T, E>(answer: Result<Result<T, E>, CallError>) -> Result<T, CallError<E>> {
    match answer {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CallError::Failed(e)),
        Err(CallError::NotRunning) => Err(CallError::NotRunning),
        Err(CallError::NoAnswer) => Err(CallError::NoAnswer),
    }
}

async fn submit_and_wait<Op: BatchOp>(
    slot: &RwLock<Option<Mailbox<BatchMsg<Op>>>>,
    item: Op::Item,
) -> Result<Op::Outcome, CallError<StoreError>> {
    flatten(ask(slot, |reply| BatchMsg::Submit(item, Some(reply))).await)
}

impl Directory {
    /// Starts or ends a hold on a church's sending (its admins' pause, or its quiet hours):
    /// while on, no carrier call starts for the jobs it holds and they wait; when it ends they
    /// go out in order. Returns whether it changed.
    pub fn set_hold(&self, hold: Hold, church_id: i64, on: bool) -> bool {
        let changed = self.church_holds.set(hold, church_id, on);
        if changed && !on {
            if let Some(breaker) = current(&self.delivery) {
                breaker.send(BreakerMsg::ChurchResumed(church_id));
            }
            self.wake_outbox();
        }
        changed
    }

    /// Whether the job must wait now because of a hold on its church.
    pub fn is_held(&self, job: &OutboundSms) -> bool {
        self.church_holds.holds(job.church_id, job.urgent)
    }

    pub fn sending_paused(&self, church_id: i64) -> bool {
        self.church_holds.is_on(Hold::Paused, church_id)
    }

    /// Makes the churches under `hold` exactly `churches` (what the store says); returns the
    /// churches that changed, each with whether the hold is now on.
    pub fn sync_holds(&self, hold: Hold, churches: &[i64]) -> Vec<(i64, bool)> {
        let mut changed = Vec::new();
        for church in self.church_holds.churches(hold) {
            if !churches.contains(&church) && self.set_hold(hold, church, false) {
                changed.push((church, false));
            }
        }
        for &church in churches {
            if self.set_hold(hold, church, true) {
                changed.push((church, true));
            }
        }
        changed
    }

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

    /// Publishes an event to a room: the room numbers it, keeps it for resume and sends it to
    /// every socket in it.
    pub fn publish(&self, room: String, event: RoomEvent) {
        if let Some(m) = current(&self.rooms) {
            m.send(RoomsMsg::Publish { room, event });
        }
    }

    /// Publishes a recipient's change to its church's room.
    pub fn publish_message_event(&self, event: &MessageEvent) {
        let room = church_room(event.church_id);
        self.publish(room, RoomEvent::recipient(event.clone()));
    }

    /// How many sockets are in a room right now.
    pub async fn room_members(&self, room: &str) -> Result<usize, CallError> {
        let room = room.to_owned();
        ask(&self.rooms, |reply| RoomsMsg::Members { room, reply }).await
    }

    /// Every room, most sockets first.
    pub async fn rooms(&self) -> Result<Vec<RoomCensus>, CallError> {
        ask(&self.rooms, |reply| RoomsMsg::Census { reply }).await
    }

    /// Applies a report (batched with others) and returns what became of it.
    pub async fn report(&self, report: Report) -> Result<ReportOutcome, CallError<StoreError>> {
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

    /// The users of a church online now.
    pub async fn online(&self, church_id: i64) -> Result<Vec<i64>, CallError> {
        ask(&self.presence, |reply| PresenceMsg::Online {
            church_id,
            reply,
        })
        .await
    }

    /// Queues a report without waiting for it to be applied. Returns `false` if the report
    /// writer is not running.
    pub fn report_later(&self, report: Report) -> bool {
        current(&self.reports).is_some_and(|m| m.send(BatchMsg::Submit(report, None)))
    }

    /// Marks a claimed recipient as being sent (batched with other workers' marks).
    pub async fn begin_attempt(
        &self,
        recipient_id: i64,
    ) -> Result<AttemptStart, CallError<StoreError>> {
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
    pub fn submit(&self, jobs: Vec<OutboundSms>) -> bool {
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

    /// An admin's order to the breaker.
    pub async fn set_breaker(
        &self,
        state: BreakerState,
    ) -> Result<BreakerSnapshot, CallError<NotSettable>> {
        flatten(ask(&self.delivery, |reply| BreakerMsg::Set { state, reply }).await)
    }

    pub async fn breaker_snapshot(&self) -> Result<BreakerSnapshot, CallError> {
        ask(&self.delivery, BreakerMsg::Snapshot).await
    }

    /// Pushes stored notifications to their users' sockets.
    pub fn announce(&self, announcements: Vec<Announcement>) {
        if announcements.is_empty() {
            return;
        }
        if let Some(m) = current(&self.notifier) {
            m.send(NotifierMsg::Announce(announcements));
        }
    }

    /// Pushes a stored send to its recipients' sockets, telling its sender how far it got.
    pub fn announce_send(&self, send: BulkSend) {
        if let Some(m) = current(&self.notifier) {
            m.send(NotifierMsg::AnnounceSend(send));
        }
    }

    /// A user changed their notifications: their other tabs follow.
    pub fn notifications_changed(
        &self,
        user_id: i64,
        update: NotificationUpdate,
        counts: NotificationCounts,
    ) {
        if let Some(m) = current(&self.notifier) {
            m.send(NotifierMsg::Changed {
                user_id,
                update,
                counts,
            });
        }
    }

    /// Stores a notification for `audience` and pushes it to them.
    pub fn notify(&self, audience: Audience, notification: NewNotification) {
        match current(&self.notifier) {
            Some(m)
                if m.send(NotifierMsg::Notify {
                    audience,
                    notification: notification.clone(),
                }) => {}
            _ => tracing::error!(
                title = %notification.title,
                "the notifier is not running; notification only logged"
            ),
        }
    }
}
