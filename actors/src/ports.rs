//! The ports the actors need from the outside world, implemented by the server crate.
//!
//! They are object-safe traits returning boxed futures so that actors hold `Arc<dyn Port>` and
//! stay free of generic parameters; the server crate picks the concrete carrier (real Telnyx or
//! the sandbox) at start-up.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use crate::protocol::{
    Category, EncodedFrame, MessageEvent, Notification, NotificationCounts, Priority,
};
use crate::status::RecipientStatus;

pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One SMS to one recipient, as claimed from the outbox and handed to the carrier. The webhook
/// URL is the gateway's own configuration.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    pub recipient_id: i64,
    /// Whose send it is: a church may pause its own sending.
    pub church_id: i64,
    pub to: String,
    pub text: String,
    /// The church's own sender number; `None` sends from the platform's.
    pub from: Option<String>,
    /// An admin's urgent message: sent even during the church's quiet hours.
    pub urgent: bool,
}

/// Whether trying the same request again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Transport error, timeout, 408, 429, 5xx: the carrier may accept it later.
    Retryable,
    /// Any other rejection: sending it again would be rejected again.
    Permanent,
    /// Rejected because the recipient replied STOP to this sender: permanent, and the member
    /// is opted out.
    RecipientOptedOut,
}

/// A failed attempt, as the carrier reported it.
#[derive(Debug, Clone)]
pub struct SendFailure {
    pub kind: FailureKind,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub detail: String,
    /// The carrier is throttling this sender; it may say for how long.
    pub throttled: Option<Option<Duration>>,
}

impl SendFailure {
    pub fn new(
        kind: FailureKind,
        http_status: Option<u16>,
        code: Option<String>,
        detail: String,
    ) -> Self {
        Self {
            kind,
            http_status,
            code,
            detail,
            throttled: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }
}

/// What the carrier says of a message it accepted, when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierStatus {
    pub status: RecipientStatus,
    pub failure_reason: Option<String>,
}

/// The carrier (Telnyx, or the built-in sandbox).
pub trait SmsGateway: Send + Sync + 'static {
    /// Hands one SMS to the carrier; on success returns the carrier's message id.
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>>;

    /// Asks the carrier where a message it accepted stands: `Ok(None)` when it does not know
    /// the id (or no longer keeps it), or names no status Belfry knows.
    fn lookup(
        &self,
        provider_message_id: String,
    ) -> PortFuture<'_, Result<Option<CarrierStatus>, SendFailure>>;
}

/// One attempt at sending, kept for the dead-letter record.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub attempt: u32,
    pub at: String,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub detail: String,
}

/// What could not be delivered, and why. Earlier failed attempts are already stored; the last
/// one, if any, comes with the letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub recipient_id: i64,
    pub reason: String,
    pub last_attempt: Option<AttemptRecord>,
}

/// Whether a claimed recipient may be sent now.
#[derive(Debug)]
pub enum AttemptStart {
    /// Send it; this is attempt number `.0`.
    Go(u32),
    /// No longer claimed (handled elsewhere): do nothing.
    Gone,
    /// The member opted out since the message was created: not sent, reported with this event.
    OptedOut(Option<MessageEvent>),
}

/// A carrier's report about one recipient, as it arrived in a webhook. Statuses are ordered
/// (see [`crate::status`]): a report ranked at or below the recipient's status is stale.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub event_id: String,
    pub event_type: String,
    pub provider_message_id: String,
    pub status: RecipientStatus,
    pub failure_reason: Option<String>,
}

/// Something that moves a recipient forward, applied in batches by the report writer.
#[derive(Debug, Clone)]
pub enum Report {
    /// The carrier accepted the send and gave it this id.
    Accepted {
        recipient_id: i64,
        provider_message_id: String,
    },
    /// A carrier webhook about a send.
    Carrier(StatusReport),
}

/// What became of one report.
#[derive(Debug, Clone)]
pub enum ReportOutcome {
    Applied(Box<MessageEvent>),
    /// The recipient is already at this stage or later (the event id is recorded).
    Stale,
    /// This event id was applied before.
    Duplicate,
    /// No recipient has this carrier message id yet; nothing was recorded.
    Unknown,
}

/// A recipient the carrier accepted whose reports are late: to be looked up.
#[derive(Debug, Clone)]
pub struct Unsettled {
    pub provider_message_id: String,
    /// How long ago the carrier accepted it.
    pub accepted_for: Duration,
}

/// One round's share of recipients waiting for a look.
#[derive(Debug, Default)]
pub struct LookupRound {
    /// How many waiting rows the round took (settled ones are only let go).
    pub taken: usize,
    /// The ones still unsettled: look these up.
    pub unsettled: Vec<Unsettled>,
}

/// What start-up found of sends interrupted by the previous process's end.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Claimed but never sent: handed out again.
    pub requeued: u64,
    /// A request may have reached the carrier: not resent, dead-lettered for review.
    pub interrupted: Vec<i64>,
}

/// The store could not do what was asked (a connection or query failed); nothing of it was
/// applied.
#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The durable side of delivery: the outbox of recipients still to send, and each recipient's
/// transitions. Methods that move a recipient return the event to publish, or `None` when the
/// transition did not apply (an older status arriving late, a recipient already final).
pub trait DeliveryStore: Send + Sync + 'static {
    /// Claims up to `limit` recipients that are due, oldest first.
    fn claim_due(&self, limit: usize) -> PortFuture<'_, Result<Vec<OutboundSms>, StoreError>>;

    /// How long until the next recipient is due, if any is waiting.
    fn next_due_in(&self) -> PortFuture<'_, Result<Option<Duration>, StoreError>>;

    /// Marks claimed recipients as being sent, the last moment to find one must not be; one
    /// answer per recipient, in the order given.
    fn begin_attempts(
        &self,
        recipient_ids: Vec<i64>,
    ) -> PortFuture<'_, Result<Vec<AttemptStart>, StoreError>>;

    /// The carrier says the recipient replied STOP: the member is opted out.
    fn opt_out_recipient(&self, recipient_id: i64) -> PortFuture<'_, Result<(), StoreError>>;

    /// Stores a failed attempt and makes the recipient due again after `delay`.
    fn schedule_retry(
        &self,
        recipient_id: i64,
        attempt: AttemptRecord,
        delay: Duration,
    ) -> PortFuture<'_, Result<(), StoreError>>;

    /// Applies a batch of reports in one transaction, acceptances first, then carrier reports
    /// in order; one outcome per report, in the order given.
    fn apply_reports(
        &self,
        reports: Vec<Report>,
    ) -> PortFuture<'_, Result<Vec<ReportOutcome>, StoreError>>;

    /// Takes up to `limit` accepted recipients that have waited `after` for a report (since
    /// their acceptance, or since they were last looked up), oldest first, and restarts their
    /// wait; those that meanwhile settled stop waiting. Several nodes never take the same row.
    fn take_lookups(
        &self,
        after: Duration,
        limit: usize,
    ) -> PortFuture<'_, Result<LookupRound, StoreError>>;

    /// Start-up: hands back claimed recipients and reports those whose send was interrupted.
    fn recover_interrupted(&self) -> PortFuture<'_, Result<Recovery, StoreError>>;

    fn dead_letter(
        &self,
        letter: DeadLetter,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>>;
}

/// Where a room delivers frames: one per open socket.
pub trait EventSink: Send + Sync + 'static {
    /// Queues the frame without waiting. Returns `false` when the connection is gone or cannot
    /// keep up, and the room forgets it.
    fn deliver(&self, event: &EncodedFrame) -> bool;

    /// As `deliver`, from a room with more events waiting behind this one: the sink may leave
    /// the event to its socket's own task, which writes it together with those that follow,
    /// rather than write it now.
    fn deliver_in_backlog(&self, event: &EncodedFrame) -> bool {
        self.deliver(event)
    }
}

/// Who a limit is counted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    User {
        user_id: i64,
        /// `None` for an operator who belongs to no church.
        church_id: Option<i64>,
    },
    Ip(IpAddr),
    /// An account, whoever tries it.
    Email(String),
    /// An account tried from one address.
    EmailAt {
        email: String,
        ip: IpAddr,
    },
}

/// Where past requests of limited kinds are stored, so that a limiter that starts afresh can
/// count them instead of granting a full budget.
pub trait LimitHistory: Send + Sync + 'static {
    /// When `key` made requests counted by `policy` since `since`, oldest first; empty when
    /// that policy's requests are not stored.
    fn recent(
        &self,
        key: &LimitKey,
        policy: &'static str,
        since: SystemTime,
    ) -> PortFuture<'_, Result<Vec<SystemTime>, StoreError>>;
}

/// For a tree whose limits are all in memory.
pub struct NoLimitHistory;

impl LimitHistory for NoLimitHistory {
    fn recent(
        &self,
        _key: &LimitKey,
        _policy: &'static str,
        _since: SystemTime,
    ) -> PortFuture<'_, Result<Vec<SystemTime>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Who a notification made inside the tree is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Users(Vec<i64>),
    /// Every operator of the platform.
    Operators,
    /// Every admin of one church.
    ChurchAdmins(i64),
}

/// A notification to make, the same for everyone in its audience.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNotification {
    pub category: Category,
    pub priority: Priority,
    pub title: String,
    pub body: String,
    pub data: serde_json::Value,
    /// The church it concerns, if any.
    pub church_id: Option<i64>,
    /// What happened, so that it never notifies a user twice (`message:812:finished`).
    pub dedup_key: Option<String>,
}

/// A stored notification and its user's counts just after it: what is pushed to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub user_id: i64,
    pub notification: Notification,
    pub counts: NotificationCounts,
    /// Pushed as `notification:new`; otherwise (the user turned the app off for it) it is only
    /// in their inbox, and only the counts are pushed.
    pub push: bool,
    /// It arrives in the user's quiet hours: clients should not ring.
    pub quiet: bool,
}

/// Where notifications are kept.
pub trait NotificationStore: Send + Sync + 'static {
    /// Stores `notification` for everyone in `audience` (each user once; not again for a user
    /// who already has its `dedup_key`), with their deliveries; one announcement per user
    /// stored for.
    fn create(
        &self,
        audience: Audience,
        notification: NewNotification,
    ) -> PortFuture<'_, Result<Vec<Announcement>, StoreError>>;
}
