//! What people are told when something happens: the wording, priority and data of each
//! notification the server makes by itself. (The breaker's own notices are the tree's:
//! `belfry_actors::delivery::breaker`.)

use belfry_actors::ports::NewNotification;
use belfry_actors::protocol::Category;
use serde::Serialize;

pub use crate::db::delivery_summaries::FinishedBroadcast;

/// How much of a message's text a notice quotes.
const QUOTED_CHARS: usize = 60;

fn quoted(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    match chars.next() {
        Some(_) => format!("“{}…”", head.trim_end()),
        None => format!("“{head}”"),
    }
}

/// "236 of 240 delivered, 4 failed" to the sender of a broadcast once every recipient is
/// settled; once per message.
pub fn broadcast_finished(m: &FinishedBroadcast) -> NewNotification {
    let mut outcome = format!("{} of {} delivered", m.delivered, m.recipients);
    if m.failed > 0 {
        outcome.push_str(&format!(", {} failed", m.failed));
    }
    NewNotification {
        category: Category::Delivery,
        priority: Category::Delivery.default_priority(),
        title: format!("Your message finished: {outcome}"),
        body: format!("{} {outcome}.", quoted(&m.body)),
        data: serde_json::to_value(m).unwrap_or_default(),
        church_id: Some(m.church_id),
        dedup_key: Some(format!("message:{}:finished", m.message_id)),
    }
}

/// The user's password was changed (by them, or reset by an admin).
pub fn password_changed(church_id: Option<i64>) -> NewNotification {
    NewNotification {
        category: Category::Security,
        priority: Category::Security.default_priority(),
        title: "Your password was changed".to_owned(),
        body: "Your Belfry password was changed and your other sessions were signed out. \
               If it was not you, tell your church's admin at once."
            .to_owned(),
        data: serde_json::Value::Object(Default::default()),
        church_id,
        dedup_key: None,
    }
}

/// A sign-in to the user's account from an address it was never signed in from before.
pub fn new_sign_in(church_id: Option<i64>, address: &str) -> NewNotification {
    NewNotification {
        category: Category::Security,
        priority: Category::Security.default_priority(),
        title: "New sign-in to your account".to_owned(),
        body: format!(
            "Your Belfry account was signed in to from {address}, an address it had not been \
             used from before. If it was not you, change your password and tell your \
             church's admin."
        ),
        data: serde_json::json!({ "address": address }),
        church_id,
        dedup_key: None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Mention<'a> {
    room: &'a str,
    message_id: i64,
    by: i64,
}

/// Someone mentioned the user in a chat message they have not read; once per message.
pub fn mentioned(
    church_id: i64,
    (author, by): (&str, i64),
    (room, channel): (&str, Option<&str>),
    message_id: i64,
    body: &str,
) -> NewNotification {
    let place = match channel {
        Some(name) => format!("#{name}"),
        None => "the church's chat".to_owned(),
    };
    NewNotification {
        category: Category::Chat,
        priority: Category::Chat.default_priority(),
        title: format!("{author} mentioned you in {place}"),
        body: quoted(body),
        data: serde_json::to_value(Mention {
            room,
            message_id,
            by,
        })
        .unwrap_or_default(),
        church_id: Some(church_id),
        dedup_key: Some(format!("chat:{message_id}:mention")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendingChange<'a> {
    church_id: i64,
    paused: bool,
    by: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// A church's sending was paused or resumed: told to its admins.
pub fn sending_changed(
    church_id: i64,
    paused: bool,
    by_name: &str,
    by: i64,
    reason: Option<&str>,
) -> NewNotification {
    let (title, body) = match paused {
        true => (
            "Sending is paused".to_owned(),
            format!(
                "{by_name} paused your church's sending{}. Messages are kept and go out when \
                 it resumes.",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
        ),
        false => (
            "Sending resumed".to_owned(),
            format!("{by_name} resumed your church's sending; held messages are going out."),
        ),
    };
    NewNotification {
        category: Category::System,
        priority: Category::System.default_priority(),
        title,
        body,
        data: serde_json::to_value(SendingChange {
            church_id,
            paused,
            by,
            reason,
        })
        .unwrap_or_default(),
        church_id: Some(church_id),
        dedup_key: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_broadcast_says_how_it_went_once() {
        let m = FinishedBroadcast {
            message_id: 812,
            sender_id: 2,
            church_id: 1,
            body: "Choir practice moves to 7pm this Thursday because the hall is being painted"
                .to_owned(),
            recipients: 240,
            delivered: 236,
            failed: 4,
        };
        let n = broadcast_finished(&m);
        assert_eq!(
            n.title,
            "Your message finished: 236 of 240 delivered, 4 failed"
        );
        assert!(
            n.body.starts_with("“Choir practice moves to 7pm"),
            "{}",
            n.body
        );
        assert!(n.body.contains("…” 236 of 240"), "{}", n.body);
        assert_eq!(n.dedup_key.as_deref(), Some("message:812:finished"));
        assert_eq!(n.data["messageId"], 812);
        assert_eq!(n.data["failed"], 4);
        assert!(n.data.get("body").is_none());
        let all = broadcast_finished(&FinishedBroadcast {
            failed: 0,
            delivered: 2,
            recipients: 2,
            body: "Hi".to_owned(),
            ..m
        });
        assert_eq!(all.title, "Your message finished: 2 of 2 delivered");
        assert_eq!(all.body, "“Hi” 2 of 2 delivered.");
    }
}
