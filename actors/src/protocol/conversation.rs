//! A conversation's lines as the API and the socket show them: what a phone texted the church,
//! what the church sent it (with the recipient's delivery status), and system lines such as an
//! opt-out. One shape for `GET /api/conversations/{id}/messages` and `conversation:message`.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The phone texted the church.
    #[default]
    Inbound,
    /// The church texted the phone: a broadcast or a reply from the conversation.
    Outbound,
    /// Something that happened to the conversation: the phone opted out or back in.
    System,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            "system" => Direction::System,
            _ => return None,
        })
    }
}

/// One line of a conversation.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationLine {
    pub id: i64,
    pub direction: Direction,
    pub body: String,
    pub at: DateTime<Utc>,
    /// Outbound lines: the message it was part of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// Outbound lines: the recipient's delivery status (`pending` … `delivered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// A new line in one of the church's conversations (`conversation:message`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConversationMessageEvent {
    pub conversation_id: i64,
    pub direction: Direction,
    pub message: ConversationLine,
    /// The conversation's unread count after it.
    pub unread: i64,
    /// Every conversation of the church together.
    pub unread_total: i64,
}
