//! Notifications as the API and the socket show them, and the fixed vocabulary they are made
//! of: categories (each with its default priority), priorities and channels. One shape for
//! `GET /api/notifications` and `notification:new`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator};

/// What a notification is about; users choose channels per category.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An admin's or operator's send to people of the platform.
    #[default]
    Announcement,
    /// The user's broadcast finished: how many were delivered and how many failed.
    Delivery,
    /// The user was mentioned in a chat room.
    Chat,
    /// The platform's state: the breaker opened or closed, a church's sending paused.
    System,
    /// The user's account: their password changed.
    Security,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Announcement,
        Category::Delivery,
        Category::Chat,
        Category::System,
        Category::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Announcement => "announcement",
            Category::Delivery => "delivery",
            Category::Chat => "chat",
            Category::System => "system",
            Category::Security => "security",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The priority a notification of this category has unless its sender chose one.
    pub fn default_priority(self) -> Priority {
        match self {
            Category::Announcement | Category::Delivery | Category::Chat => Priority::Normal,
            Category::System | Category::Security => Priority::High,
        }
    }
}

/// How much a notification matters: `critical` goes whatever the user chose.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, EnumIter,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Priority::iter().find(|p| p.as_str() == text)
    }
}

/// A notification in its user's inbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: i64,
    pub category: Category,
    pub priority: Priority,
    pub title: String,
    pub body: String,
    /// What it is about, for a client to link to (`{"messageId": 812}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub seen_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A user's unread and unseen notifications (unseen: unread, and came since the user last
/// looked at the badge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationCounts {
    pub unread: i64,
    pub unseen: i64,
    /// Unread by category; every category is listed.
    pub by_category: BTreeMap<Category, i64>,
}

impl NotificationCounts {
    /// Counts from each category's `(unread, unseen)`; categories not given are zero.
    pub fn from_categories(rows: impl IntoIterator<Item = (Category, i64, i64)>) -> Self {
        let mut counts = Self {
            by_category: Category::ALL.into_iter().map(|c| (c, 0)).collect(),
            ..Self::default()
        };
        for (category, unread, unseen) in rows {
            counts.unread += unread;
            counts.unseen += unseen;
            *counts.by_category.entry(category).or_default() += unread;
        }
        counts
    }
}

/// What changed on notifications the user already had.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationChange {
    #[default]
    Read,
    Unread,
    Archived,
    /// The badge was looked at.
    Seen,
}

/// Which of the user's notifications a change touched: these, or every one up to an id (of
/// one category, or all) as "read all" and "seen" do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", untagged)]
pub enum Touched {
    These {
        ids: Vec<i64>,
    },
    UpTo {
        #[serde(rename = "upTo")]
        up_to: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        category: Option<Category>,
    },
}

impl Default for Touched {
    fn default() -> Self {
        Touched::These { ids: Vec::new() }
    }
}

/// How far an admin's send has got (`notification:bulk_progress`, to the sender's own room):
/// the notification is stored for every recipient at once, then pushed to their sockets in
/// chunks; this follows the pushing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkProgress {
    /// The send, as `POST /api/admin/notifications` answered it.
    pub id: i64,
    pub recipient_count: i64,
    /// Recipients it has been announced to so far (in their inbox, pushed to their sockets).
    pub announced: i64,
    /// Announced to everyone; email and SMS then go by each recipient's rules.
    pub done: bool,
}

/// A change to a user's notifications, for their other tabs (`notification:updated`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationUpdate {
    pub change: NotificationChange,
    #[serde(flatten)]
    pub touched: Touched,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_wire() {
        assert_eq!(Category::ALL.to_vec(), Category::iter().collect::<Vec<_>>());
        for c in Category::iter() {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for p in Priority::iter() {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Category::parse("Delivery"), None);
    }

    #[test]
    fn counts_list_every_category() {
        let counts = NotificationCounts::from_categories([(Category::Delivery, 2, 1)]);
        assert_eq!((counts.unread, counts.unseen), (2, 1));
        assert_eq!(counts.by_category.len(), Category::iter().count());
        let json = serde_json::to_value(&counts).unwrap();
        assert_eq!(json["byCategory"]["delivery"], 2);
        assert_eq!(json["byCategory"]["security"], 0);
    }

    #[test]
    fn an_update_says_what_it_touched() {
        let one = NotificationUpdate {
            change: NotificationChange::Read,
            touched: Touched::These { ids: vec![3] },
            at: DateTime::default(),
        };
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["change"], "read");
        assert_eq!(json["ids"], serde_json::json!([3]));
        let all = NotificationUpdate {
            change: NotificationChange::Read,
            touched: Touched::UpTo {
                up_to: 9,
                category: Some(Category::Delivery),
            },
            at: DateTime::default(),
        };
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json["upTo"], 9);
        assert_eq!(json["category"], "delivery");
    }
}
