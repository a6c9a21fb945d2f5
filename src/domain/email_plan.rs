//! When a notification's email goes: the one home of that rule. Email follows the app rather
//! than repeating it: what the user reads in the app is not emailed too, unless the app is off
//! for it, the user is away for something that matters, or it is `critical`.
//!
//! - `critical`: emailed at once if the user has no socket open, else if it is still unread
//!   after the fallback delay; whatever the user chose, and in quiet hours too.
//! - email off for the category (or for everything): no email.
//! - the app off for the category: emailed at once.
//! - `low` with a digest chosen: gathered into the next digest.
//! - `high`: as `critical`, but only if email is on, and never in quiet hours.
//! - the rest: emailed if still unread after the fallback delay.
//!
//! Quiet hours hold an email until they end. The plan is chosen when the notification is
//! stored; when it is due, [`when_due`] says what happens to it then.

use belfry_actors::protocol::{Category, Priority};
use chrono::{DateTime, NaiveTime, TimeDelta, Timelike, Utc};

use super::notification_preferences::{DigestFrequency, Preferences};
use super::quiet_hours::{ClockTime, TimeZoneName};

/// Why an email goes when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPlan {
    /// As soon as it is due.
    Now,
    /// At once if the user has no socket open; otherwise as [`EmailPlan::Unread`].
    Offline,
    /// Only if it is still unread once the fallback delay has passed.
    Unread,
    /// In the user's next digest.
    Digest,
}

impl EmailPlan {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Now => "now",
            Self::Offline => "offline",
            Self::Unread => "unread",
            Self::Digest => "digest",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "now" => Self::Now,
            "offline" => Self::Offline,
            "unread" => Self::Unread,
            "digest" => Self::Digest,
            _ => return None,
        })
    }

    /// Emails that stand in for the app because the user did not see it there.
    pub fn is_fallback(self) -> bool {
        matches!(self, Self::Offline | Self::Unread)
    }
}

/// How a notification of `category` and `priority` is emailed to a user who chose `prefs`;
/// `None`: it is not.
pub fn plan(prefs: &Preferences, category: Category, priority: Priority) -> Option<EmailPlan> {
    if priority == Priority::Critical {
        return Some(EmailPlan::Offline);
    }
    let channels = prefs.channels_for(category);
    if !channels.email {
        return None;
    }
    if !channels.in_app {
        return Some(EmailPlan::Now);
    }
    Some(match priority {
        Priority::Low if prefs.digest.frequency != DigestFrequency::Off => EmailPlan::Digest,
        Priority::High => EmailPlan::Offline,
        _ => EmailPlan::Unread,
    })
}

/// A due email's notification, as it stands now.
#[derive(Debug, Clone, Copy)]
pub struct Due {
    pub plan: EmailPlan,
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    /// Read or archived in the app.
    pub dealt_with: bool,
    /// The user has a socket open now.
    pub online: bool,
    /// The digest window this email was put in, if it was.
    pub digest_window: bool,
}

/// What happens to a due email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Send,
    /// Not sent, for good.
    Skip(&'static str),
    /// Looked at again at `due`, as `plan`; `held` while quiet hours or a digest hold it.
    Later {
        plan: EmailPlan,
        due: DateTime<Utc>,
        held: bool,
        reason: Option<&'static str>,
    },
}

pub const READ_IN_APP: &str = "read in the app";
pub const QUIET_HOURS: &str = "quiet hours";
pub const DIGEST: &str = "digest";

/// What to do at `now` with an email that is due, for a user who chose `prefs`.
pub fn when_due(email: Due, prefs: &Preferences, now: DateTime<Utc>, fallback: TimeDelta) -> Step {
    let critical = email.priority == Priority::Critical;
    let mut plan = email.plan;
    if plan.is_fallback() && email.dealt_with {
        return Step::Skip(READ_IN_APP);
    }
    if plan == EmailPlan::Offline && email.online {
        plan = EmailPlan::Unread;
    }
    if plan == EmailPlan::Unread {
        let after = email.created_at + fallback;
        if after > now {
            return Step::Later {
                plan,
                due: after,
                held: false,
                reason: None,
            };
        }
    }
    if plan == EmailPlan::Digest && !email.digest_window {
        return Step::Later {
            plan,
            due: next_digest(prefs, now),
            held: true,
            reason: Some(DIGEST),
        };
    }
    if !critical && let Some(end) = prefs.quiet_until(now) {
        return Step::Later {
            plan,
            due: end,
            held: true,
            reason: Some(QUIET_HOURS),
        };
    }
    Step::Send
}

/// The start of the user's next digest window after `now`, at their local time: the next
/// whole hour, or the next time the clocks read `digest.at`.
pub fn next_digest(prefs: &Preferences, now: DateTime<Utc>) -> DateTime<Utc> {
    let zone = TimeZoneName::parse(&prefs.timezone)
        .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC is a zone"));
    let local = now.with_timezone(&zone.zone()).naive_local();
    match prefs.digest.frequency {
        DigestFrequency::Daily => {
            let at = ClockTime::parse(&prefs.digest.at)
                .map(ClockTime::time)
                .unwrap_or(NaiveTime::MIN);
            let today = zone.instant(local.date(), at);
            if today > now {
                return today;
            }
            let tomorrow = local.date().succ_opt().unwrap_or(local.date());
            zone.instant(tomorrow, at)
        }
        // Hourly (or a digest turned off since: the next hour gathers what was waiting).
        _ => {
            let hour = local.with_minute(0).and_then(|t| t.with_second(0));
            let next =
                hour.and_then(|t| t.with_nanosecond(0)).unwrap_or(local) + TimeDelta::hours(1);
            let at = zone.instant(next.date(), next.time());
            // A zone's clocks going back can make the next local hour an earlier instant.
            if at > now {
                at
            } else {
                now + TimeDelta::hours(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn prefs(patch: serde_json::Value) -> Preferences {
        Preferences::defaults("Europe/London")
            .apply(&patch)
            .unwrap()
    }

    fn due(plan: EmailPlan, priority: Priority) -> Due {
        Due {
            plan,
            priority,
            created_at: utc("2026-06-01T12:00:00Z"),
            dealt_with: false,
            online: false,
            digest_window: false,
        }
    }

    const FALLBACK: TimeDelta = TimeDelta::minutes(5);

    #[test]
    fn each_priority_and_choice_has_its_plan() {
        let p = prefs(json!({}));
        assert_eq!(
            plan(&p, Category::Announcement, Priority::Normal),
            Some(EmailPlan::Unread)
        );
        assert_eq!(
            plan(&p, Category::Announcement, Priority::High),
            Some(EmailPlan::Offline)
        );
        assert_eq!(
            plan(&p, Category::Announcement, Priority::Low),
            Some(EmailPlan::Unread)
        );
        // Delivery notices are not emailed unless the user asks.
        assert_eq!(plan(&p, Category::Delivery, Priority::High), None);
        assert_eq!(
            plan(&p, Category::Delivery, Priority::Critical),
            Some(EmailPlan::Offline)
        );
        let off = prefs(json!({"categories": {"announcement": {"in_app": false}}}));
        assert_eq!(
            plan(&off, Category::Announcement, Priority::Normal),
            Some(EmailPlan::Now)
        );
        let digest = prefs(json!({"digest": {"frequency": "daily"}}));
        assert_eq!(
            plan(&digest, Category::System, Priority::Low),
            Some(EmailPlan::Digest)
        );
        let no_email = prefs(json!({"channels": {"email": false}}));
        assert_eq!(plan(&no_email, Category::System, Priority::High), None);
    }

    #[test]
    fn an_unread_fallback_waits_for_its_delay_and_is_dropped_once_read() {
        let p = prefs(json!({}));
        let email = due(EmailPlan::Unread, Priority::Normal);
        let early = utc("2026-06-01T12:01:00Z");
        assert_eq!(
            when_due(email, &p, early, FALLBACK),
            Step::Later {
                plan: EmailPlan::Unread,
                due: utc("2026-06-01T12:05:00Z"),
                held: false,
                reason: None
            }
        );
        let late = utc("2026-06-01T12:05:00Z");
        assert_eq!(when_due(email, &p, late, FALLBACK), Step::Send);
        let read = Due {
            dealt_with: true,
            ..email
        };
        assert_eq!(when_due(read, &p, late, FALLBACK), Step::Skip(READ_IN_APP));
    }

    #[test]
    fn offline_goes_at_once_and_online_waits_for_unread() {
        let p = prefs(json!({}));
        let now = utc("2026-06-01T12:00:01Z");
        let email = due(EmailPlan::Offline, Priority::High);
        assert_eq!(when_due(email, &p, now, FALLBACK), Step::Send);
        let online = Due {
            online: true,
            ..email
        };
        assert!(matches!(
            when_due(online, &p, now, FALLBACK),
            Step::Later {
                plan: EmailPlan::Unread,
                held: false,
                ..
            }
        ));
    }

    #[test]
    fn quiet_hours_hold_all_but_critical_until_they_end() {
        let p = prefs(json!({"quietHours": {"enabled": true, "start": "22:00", "end": "07:00"}}));
        // 23:30 in London (BST) on 1 June is 22:30 UTC.
        let night = utc("2026-06-01T22:30:00Z");
        let email = Due {
            created_at: night,
            ..due(EmailPlan::Offline, Priority::High)
        };
        assert_eq!(
            when_due(email, &p, night, FALLBACK),
            Step::Later {
                plan: EmailPlan::Offline,
                due: utc("2026-06-02T06:00:00Z"),
                held: true,
                reason: Some(QUIET_HOURS)
            }
        );
        let critical = Due {
            priority: Priority::Critical,
            ..email
        };
        assert_eq!(when_due(critical, &p, night, FALLBACK), Step::Send);
    }

    #[test]
    fn a_digest_waits_for_its_window_in_the_users_zone() {
        let daily = prefs(json!({"timezone": "America/New_York",
            "digest": {"frequency": "daily", "at": "08:00"}}));
        // 09:00 in New York (EDT): the next 08:00 is tomorrow's, 12:00 UTC.
        let now = utc("2026-06-01T13:00:00Z");
        assert_eq!(next_digest(&daily, now), utc("2026-06-02T12:00:00Z"));
        let email = Due {
            created_at: now,
            ..due(EmailPlan::Digest, Priority::Low)
        };
        assert!(matches!(
            when_due(email, &daily, now, FALLBACK),
            Step::Later {
                plan: EmailPlan::Digest,
                held: true,
                reason: Some(DIGEST),
                ..
            }
        ));
        let in_window = Due {
            digest_window: true,
            ..email
        };
        assert_eq!(when_due(in_window, &daily, now, FALLBACK), Step::Send);
        // Across the autumn change the daily digest keeps its local time: 08:00 EST is 13:00 UTC.
        let november = utc("2026-11-01T13:30:00Z");
        assert_eq!(next_digest(&daily, november), utc("2026-11-02T13:00:00Z"));
        let hourly = prefs(json!({"timezone": "Asia/Kolkata", "digest": {"frequency": "hourly"}}));
        // 18:40 in Kolkata (UTC+5:30): the next local hour is 19:00, 13:30 UTC.
        assert_eq!(
            next_digest(&hourly, utc("2026-06-01T13:10:00Z")),
            utc("2026-06-01T13:30:00Z")
        );
    }
}
