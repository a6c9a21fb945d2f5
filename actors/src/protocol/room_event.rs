//! Events that happen in a room, numbered by it and kept for resume.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::EnumIter;

use super::ConversationMessageEvent;
use super::notification::{BulkProgress, Notification, NotificationCounts, NotificationUpdate};
use crate::status::{MessageStatus, RecipientStatus, StatusEventKind, Totals, Transition};

#[derive(Debug, Clone, Serialize, EnumIter)]
#[serde(tag = "type")]
pub enum RoomEvent {
    /// A recipient reached `queued`, `sending` or `delivery_unconfirmed`.
    #[serde(rename = "message:status_update")]
    MessageStatusUpdate(MessageEvent),
    #[serde(rename = "message:sent")]
    MessageSent(MessageEvent),
    #[serde(rename = "message:delivered")]
    MessageDelivered(MessageEvent),
    /// A recipient failed for good, or was skipped; carries `failureReason`.
    #[serde(rename = "message:failed")]
    MessageFailed(MessageEvent),
    #[serde(rename = "chat:message")]
    ChatMessage(ChatMessageEvent),
    #[serde(rename = "chat:joined", rename_all = "camelCase")]
    ChatJoined { user_id: i64 },
    #[serde(rename = "chat:left", rename_all = "camelCase")]
    ChatLeft { user_id: i64 },
    /// A user's read mark in the room moved forward.
    #[serde(rename = "chat:read", rename_all = "camelCase")]
    ChatRead { user_id: i64, message_id: i64 },
    /// Users who came online or went offline, gathered over a short window.
    #[serde(rename = "presence:changed")]
    PresenceChanged {
        changes: Vec<PresenceChange>,
        timestamp: String,
    },
    /// The circuit breaker in front of the carrier changed state (the `admins` room).
    #[serde(rename = "breaker:state_changed")]
    BreakerStateChanged {
        from: BreakerState,
        to: BreakerState,
        reason: String,
        timestamp: String,
    },
    /// The church's admins paused its sending (its admins' room): sends are accepted and held.
    #[serde(rename = "sending:paused", rename_all = "camelCase")]
    SendingPaused {
        church_id: i64,
        reason: Option<String>,
        by: i64,
        timestamp: String,
    },
    /// A message was accepted, to send now or at `sendAt` (the church's room).
    #[serde(rename = "message:created")]
    MessageCreated(MessageCreatedEvent),
    /// A scheduled message was cancelled before it started (the church's room).
    #[serde(rename = "message:cancelled", rename_all = "camelCase")]
    MessageCancelled { message_id: i64, by: i64 },
    /// A phone texted the church, or the church texted a phone it has a conversation with
    /// (the church's room).
    #[serde(rename = "conversation:message")]
    ConversationMessage(ConversationMessageEvent),
    /// Someone read a conversation: its unread count is 0 (the church's room).
    #[serde(rename = "conversation:read", rename_all = "camelCase")]
    ConversationRead {
        conversation_id: i64,
        by: i64,
        unread_total: i64,
    },
    /// The church's sending resumed; what was held goes out in order.
    #[serde(rename = "sending:resumed", rename_all = "camelCase")]
    SendingResumed {
        church_id: i64,
        by: i64,
        timestamp: String,
    },
    /// A new notification for the user (their own room); `quiet` during their quiet hours, so
    /// clients show it without ringing.
    #[serde(rename = "notification:new")]
    NotificationNew {
        notification: Notification,
        quiet: bool,
    },
    /// The user read, unread, archived or saw notifications, perhaps in another tab (their own
    /// room).
    #[serde(rename = "notification:updated")]
    NotificationUpdated(NotificationUpdate),
    /// The user's counts after a change (their own room).
    #[serde(rename = "notification:counts")]
    NotificationCounts(NotificationCounts),
    /// How far the user's own send to many people has got (their own room).
    #[serde(rename = "notification:bulk_progress")]
    NotificationBulkProgress(BulkProgress),
}

impl RoomEvent {
    /// The event of a recipient's change: its type follows the status reached.
    pub fn recipient(event: MessageEvent) -> Self {
        match event.status.event_kind() {
            StatusEventKind::Progress => Self::MessageStatusUpdate(event),
            StatusEventKind::Sent => Self::MessageSent(event),
            StatusEventKind::Delivered => Self::MessageDelivered(event),
            StatusEventKind::Failed => Self::MessageFailed(event),
        }
    }
}

/// A message the church just accepted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageCreatedEvent {
    pub message_id: i64,
    pub sender_id: i64,
    pub body: String,
    /// `pending`, or `scheduled` until `sendAt`.
    pub status: MessageStatus,
    pub recipient_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    /// It would have started in the church's quiet hours: `sendAt` is their end.
    pub held_for_quiet_hours: bool,
}

/// A recipient's status changed; carries the message's running totals.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvent {
    pub message_id: i64,
    pub recipient_id: i64,
    pub member_id: i64,
    /// The recipient's new status.
    pub status: RecipientStatus,
    /// The message's status after this change.
    pub message_status: MessageStatus,
    pub timestamp: String,
    pub recipient_count: i64,
    pub delivered_count: i64,
    pub failed_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Whose room it goes to.
    #[serde(skip)]
    pub church_id: i64,
}

impl MessageEvent {
    /// The event of `change`, with its message's totals just after it.
    pub fn new(change: &Transition, after: &Totals, timestamp: String) -> Self {
        Self {
            message_id: change.message_id,
            recipient_id: change.recipient_id,
            member_id: change.member_id,
            status: change.status,
            message_status: after.message_status(),
            timestamp,
            recipient_count: after.recipients,
            delivered_count: after.delivered,
            failed_count: after.failed,
            failure_reason: change.failure_reason.clone(),
            church_id: after.church_id,
        }
    }
}

/// A stored chat message, as a room's history answer lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub id: i64,
    pub room: String,
    pub user_id: i64,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The users it mentions (`@`), as its author's client named them.
    pub mentions: Vec<i64>,
}

/// A chat message posted in a room (the room's name is the numbered event's own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageEvent {
    pub id: i64,
    pub user_id: i64,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The users it mentions; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<i64>,
}

impl From<ChatMessage> for ChatMessageEvent {
    fn from(m: ChatMessage) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            body: m.body,
            client_id: m.client_id,
            created_at: m.created_at,
            mentions: m.mentions,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    #[default]
    Online,
    Offline,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceChange {
    pub user_id: i64,
    pub status: PresenceStatus,
}

/// The circuit breaker's states (see `delivery::breaker`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    #[default]
    Closed,
    Open,
    HalfOpen,
    ForcedOpen,
    Disabled,
}

impl BreakerState {
    /// Every state, for a gauge that shows which one the breaker is in.
    pub const ALL: [BreakerState; 5] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
        BreakerState::ForcedOpen,
        BreakerState::Disabled,
    ];

    /// The state's name on the wire (`half_open`).
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::Disabled => "disabled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BreakerState;

    #[test]
    fn breaker_state_names_are_the_wire_names() {
        for state in BreakerState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.name());
        }
    }
}
