//! Delivery statuses: the one home of their rules.
//!
//! A recipient moves through [`RecipientStatus`]es reported out of order by the carrier; the
//! rank makes the furthest stage win whatever order reports arrive in, and a final status is
//! never left. A message's own [`MessageStatus`] follows from its totals. Everything that
//! decides by status (the report writer's batches, the database's queries, the events sockets
//! receive) asks this module: SQL gets ranks and names from here as bind parameters or
//! generated text, never as literals of its own. [`precedence`] holds the decisions a batch of
//! reports makes.

pub mod failure_code;
pub mod precedence;

use serde::{Deserialize, Serialize};

/// Where one recipient's SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Stored, not yet accepted by the carrier.
    #[default]
    Pending,
    /// Accepted by the carrier.
    Queued,
    Sending,
    Sent,
    DeliveryUnconfirmed,
    Delivered,
    DeliveryFailed,
    SendingFailed,
    Expired,
    /// Given up by Belfry (dead-lettered).
    Failed,
    /// Not sent: the member opted out before it was their turn.
    Skipped,
}

/// How a status counts towards its message's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalCount {
    NotFinal,
    Delivered,
    Failed,
}

impl FinalCount {
    /// What it adds to a message's totals: (delivered, failed).
    pub fn increments(self) -> (i64, i64) {
        match self {
            Self::Delivered => (1, 0),
            Self::Failed => (0, 1),
            Self::NotFinal => (0, 0),
        }
    }
}

/// Which kind of event a recipient reaching a status produces (see the protocol's
/// `RoomEvent::recipient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEventKind {
    /// Progress short of sent: `message:status_update`.
    Progress,
    Sent,
    Delivered,
    Failed,
}

impl RecipientStatus {
    pub const ALL: [Self; 11] = [
        Self::Pending,
        Self::Queued,
        Self::Sending,
        Self::Sent,
        Self::DeliveryUnconfirmed,
        Self::Delivered,
        Self::DeliveryFailed,
        Self::SendingFailed,
        Self::Expired,
        Self::Failed,
        Self::Skipped,
    ];

    /// The rank every final status has: nothing moves a recipient on from it.
    pub const FINAL_RANK: i16 = 5;

    /// Belfry's own name for a status (as stored and as sent to sockets).
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::DeliveryUnconfirmed => "delivery_unconfirmed",
            Self::Delivered => "delivered",
            Self::DeliveryFailed => "delivery_failed",
            Self::SendingFailed => "sending_failed",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// Later stages outrank earlier ones; a report ranked at or below a recipient's current
    /// status is stale.
    pub fn rank(self) -> i16 {
        match self {
            Self::Pending => 0,
            Self::Queued => 1,
            Self::Sending => 2,
            Self::Sent => 3,
            Self::DeliveryUnconfirmed => 4,
            _ => Self::FINAL_RANK,
        }
    }

    pub fn is_final(self) -> bool {
        self.rank() == Self::FINAL_RANK
    }

    /// From this rank on there is nothing more to ask the carrier: final, or given up on as
    /// `delivery_unconfirmed`. Below it, a recipient the carrier accepted is looked up when
    /// its reports are late.
    pub const SETTLED_RANK: i16 = 4;

    pub fn is_settled(self) -> bool {
        self.rank() >= Self::SETTLED_RANK
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::DeliveryFailed
                | Self::SendingFailed
                | Self::Expired
                | Self::Failed
                | Self::Skipped
        )
    }

    pub fn counts_as(self) -> FinalCount {
        match (self.is_final(), self.is_failure()) {
            (true, false) => FinalCount::Delivered,
            (true, true) => FinalCount::Failed,
            _ => FinalCount::NotFinal,
        }
    }

    pub fn event_kind(self) -> StatusEventKind {
        match self {
            Self::Sent => StatusEventKind::Sent,
            Self::Delivered => StatusEventKind::Delivered,
            s if s.is_failure() => StatusEventKind::Failed,
            _ => StatusEventKind::Progress,
        }
    }
}

/// Where a whole message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Stored; no recipient has moved yet.
    #[default]
    Pending,
    /// Stored to be sent at its `sendAt`; nothing is sent before.
    Scheduled,
    /// A scheduled message cancelled before it started: nothing was sent.
    Cancelled,
    /// Some recipients are not final yet.
    Sending,
    /// Every recipient delivered.
    Delivered,
    /// Every recipient failed.
    Failed,
    /// Every recipient final, some delivered and some failed.
    Completed,
}

impl MessageStatus {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Scheduled,
        Self::Cancelled,
        Self::Sending,
        Self::Delivered,
        Self::Failed,
        Self::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Completed => "completed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// The message-status rule: `sending` until every recipient is final, then `delivered`,
    /// `failed`, or `completed` (some of each).
    pub fn from_totals(recipients: i64, delivered: i64, failed: i64) -> Self {
        if delivered + failed < recipients {
            Self::Sending
        } else if failed == 0 {
            Self::Delivered
        } else if delivered == 0 {
            Self::Failed
        } else {
            Self::Completed
        }
    }

    /// [`Self::from_totals`] as a SQL expression over the given column expressions.
    pub fn sql_from_totals(recipients: &str, delivered: &str, failed: &str) -> String {
        format!(
            "CASE WHEN {delivered} + {failed} < {recipients} THEN '{}' \
             WHEN {failed} = 0 THEN '{}' WHEN {delivered} = 0 THEN '{}' ELSE '{}' END",
            Self::Sending.as_str(),
            Self::Delivered.as_str(),
            Self::Failed.as_str(),
            Self::Completed.as_str(),
        )
    }
}

/// One recipient moved to a new status (applied in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub recipient_id: i64,
    pub message_id: i64,
    pub member_id: i64,
    pub status: RecipientStatus,
    pub failure_reason: Option<String>,
}

/// A message's totals at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub church_id: i64,
    pub recipients: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl Totals {
    /// Counts a recipient that reached `status`.
    pub fn count(&mut self, status: RecipientStatus) {
        let (delivered, failed) = status.counts_as().increments();
        self.delivered += delivered;
        self.failed += failed;
    }

    pub fn message_status(&self) -> MessageStatus {
        MessageStatus::from_totals(self.recipients, self.delivered, self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::RecipientStatus::*;
    use super::*;

    #[test]
    fn later_stages_outrank_earlier_ones_and_finals_are_never_left() {
        assert!(Sent.rank() > Queued.rank());
        assert!(Delivered.rank() > Sent.rank());
        assert!(DeliveryFailed.rank() > Sent.rank());
        assert!(Delivered.is_final() && !Delivered.is_failure());
        assert!(Expired.is_final() && Expired.is_failure());
        for status in RecipientStatus::ALL {
            assert!(status.rank() <= RecipientStatus::FINAL_RANK);
            assert_eq!(RecipientStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn each_status_counts_and_produces_its_event_kind() {
        assert_eq!(Delivered.counts_as(), FinalCount::Delivered);
        assert_eq!(Skipped.counts_as(), FinalCount::Failed);
        assert_eq!(Sent.counts_as(), FinalCount::NotFinal);
        assert_eq!(Queued.event_kind(), StatusEventKind::Progress);
        assert_eq!(DeliveryUnconfirmed.event_kind(), StatusEventKind::Progress);
        assert_eq!(Sent.event_kind(), StatusEventKind::Sent);
        assert_eq!(Delivered.event_kind(), StatusEventKind::Delivered);
        for failed in [DeliveryFailed, SendingFailed, Expired, Failed, Skipped] {
            assert_eq!(failed.event_kind(), StatusEventKind::Failed);
        }
    }

    #[test]
    fn message_status_follows_totals() {
        use MessageStatus as M;
        assert_eq!(M::from_totals(3, 0, 0), M::Sending);
        assert_eq!(M::from_totals(3, 2, 0), M::Sending);
        assert_eq!(M::from_totals(3, 3, 0), M::Delivered);
        assert_eq!(M::from_totals(3, 0, 3), M::Failed);
        assert_eq!(M::from_totals(3, 2, 1), M::Completed);
        for status in M::ALL {
            assert_eq!(M::parse(status.as_str()), Some(status));
        }
        let mut totals = Totals {
            church_id: 1,
            recipients: 2,
            delivered: 0,
            failed: 0,
        };
        totals.count(Delivered);
        totals.count(Sent);
        assert_eq!(totals.message_status(), M::Sending);
        totals.count(Skipped);
        assert_eq!(totals.message_status(), M::Completed);
    }

    #[test]
    fn the_sql_rule_names_every_final_message_status() {
        let sql = MessageStatus::sql_from_totals("r", "d", "f");
        for status in [
            MessageStatus::Sending,
            MessageStatus::Delivered,
            MessageStatus::Failed,
            MessageStatus::Completed,
        ] {
            assert!(sql.contains(&format!("'{}'", status.as_str())), "{sql}");
        }
    }
}
