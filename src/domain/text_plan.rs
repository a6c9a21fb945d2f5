//! When a notification goes by SMS, and what the text says: the one home of the rule.
//!
//! SMS is for what matters: it is off unless the user turned it on for a category (and SMS as
//! a whole), and `critical` notifications go by SMS to everyone who set a phone whatever they
//! chose. A text waits out the user's quiet hours (held, then sent when they end) unless it is
//! critical. Unlike email there is no fallback or digest: a text is sent once, when due.

use belfry_actors::protocol::{Category, Priority};
use chrono::{DateTime, Utc};

use super::Preferences;
use super::email_plan::QUIET_HOURS;

/// Why a chosen SMS delivery is skipped: the user set no phone.
pub const NO_PHONE: &str = "no phone";
/// Why a due text is not sent: the account was disabled since.
pub const DISABLED: &str = "account disabled";
/// Characters a notification's text keeps: two GSM-7 segments.
pub const MAX_CHARS: usize = 306;

/// The SMS delivery a new notification gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStart {
    /// To be sent: the text courier times it.
    Pending,
    /// Chosen, but there is no phone to send it to.
    NoPhone,
}

impl TextStart {
    /// The delivery's first status.
    pub fn status(self) -> &'static str {
        match self {
            TextStart::Pending => "pending",
            TextStart::NoPhone => "skipped",
        }
    }
}

/// Whether a notification of `category` and `priority` goes by SMS to a user who chose
/// `prefs`; `None`: it does not, and has no SMS delivery at all.
pub fn start(
    prefs: &Preferences,
    category: Category,
    priority: Priority,
    has_phone: bool,
) -> Option<TextStart> {
    let chosen = priority == Priority::Critical || prefs.channels_for(category).sms;
    chosen.then_some(if has_phone {
        TextStart::Pending
    } else {
        TextStart::NoPhone
    })
}

/// What to do with a due text at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextStep {
    Send,
    /// Held until the user's quiet hours end.
    Hold {
        until: DateTime<Utc>,
        reason: &'static str,
    },
}

pub fn when_due(prefs: &Preferences, priority: Priority, now: DateTime<Utc>) -> TextStep {
    if priority == Priority::Critical {
        return TextStep::Send;
    }
    match prefs.quiet_until(now) {
        Some(until) => TextStep::Hold {
            until,
            reason: QUIET_HOURS,
        },
        None => TextStep::Send,
    }
}

/// The text sent: what the send's template wrote for SMS, else the title and the body, kept to
/// [`MAX_CHARS`] characters.
pub fn text(title: &str, body: &str, written: Option<&str>) -> String {
    let whole = match written {
        Some(text) => text.trim().to_owned(),
        None => format!("{}: {}", title.trim(), body.trim()),
    };
    if whole.chars().count() <= MAX_CHARS {
        return whole;
    }
    let kept: String = whole.chars().take(MAX_CHARS - 1).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prefs(patch: serde_json::Value) -> Preferences {
        Preferences::defaults("Europe/London")
            .apply(&patch)
            .unwrap()
    }

    #[test]
    fn sms_goes_only_where_chosen_or_critical_and_only_with_a_phone() {
        let off = prefs(json!({}));
        assert_eq!(
            start(&off, Category::Announcement, Priority::High, true),
            None
        );
        assert_eq!(
            start(&off, Category::Announcement, Priority::Critical, true),
            Some(TextStart::Pending)
        );
        assert_eq!(
            start(&off, Category::Security, Priority::Critical, false),
            Some(TextStart::NoPhone)
        );
        // On for one category, and SMS as a whole.
        let on = prefs(json!({"channels": {"sms": true}, "categories": {"system": {"sms": true}}}));
        assert_eq!(
            start(&on, Category::System, Priority::Low, true),
            Some(TextStart::Pending)
        );
        assert_eq!(start(&on, Category::Chat, Priority::Low, true), None);
        // The category alone is not enough while SMS as a whole is off.
        let half = prefs(json!({"categories": {"system": {"sms": true}}}));
        assert_eq!(start(&half, Category::System, Priority::Low, true), None);
    }

    #[test]
    fn texts_wait_out_quiet_hours_unless_critical() {
        let quiet = prefs(json!({"timezone": "Asia/Tokyo",
            "quietHours": {"enabled": true, "start": "22:00", "end": "07:00"}}));
        // 23:30 in Tokyo.
        let night: DateTime<Utc> = "2026-12-04T14:30:00Z".parse().unwrap();
        let morning: DateTime<Utc> = "2026-12-04T22:00:00Z".parse().unwrap();
        assert_eq!(
            when_due(&quiet, Priority::High, night),
            TextStep::Hold {
                until: morning,
                reason: QUIET_HOURS
            }
        );
        assert_eq!(when_due(&quiet, Priority::Critical, night), TextStep::Send);
        assert_eq!(when_due(&quiet, Priority::High, morning), TextStep::Send);
    }

    #[test]
    fn a_text_says_the_template_or_the_title_and_body_within_two_segments() {
        assert_eq!(text("Rota", " Sunday ", None), "Rota: Sunday");
        assert_eq!(
            text("Rota", "Sunday", Some(" Rota for Sunday\n")),
            "Rota for Sunday"
        );
        let long = text("Long", &"word ".repeat(200), None);
        assert_eq!(long.chars().count(), MAX_CHARS);
        assert!(long.ends_with('…'));
    }
}
