//! A user's notification preferences: which channels each category goes by, their time zone,
//! their quiet hours (on chosen days) and their digest. The defaults are filled in here, a
//! partial change is applied here (naming the field that is wrong), and here it is decided how
//! one notification reaches the user now: critical goes whatever they chose.

use std::collections::BTreeMap;

use belfry_actors::protocol::{Category, Priority};
use chrono::{DateTime, Datelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::quiet_hours::{ClockTime, QuietHours, TimeZoneName};

/// The channels a notification may go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    pub in_app: bool,
    pub email: bool,
    pub sms: bool,
}

impl Channels {
    pub const NAMES: [&'static str; 3] = ["in_app", "email", "sms"];

    fn set(&mut self, name: &str, on: bool) -> bool {
        match name {
            "in_app" => self.in_app = on,
            "email" => self.email = on,
            "sms" => self.sms = on,
            _ => return false,
        }
        true
    }
}

/// Each category's channels until the user changes them: SMS is for what they turn on.
pub fn default_channels(category: Category) -> Channels {
    let email = !matches!(category, Category::Delivery);
    Channels {
        in_app: true,
        email,
        sms: false,
    }
}

pub const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalQuietHours {
    pub enabled: bool,
    /// `HH:MM` in the user's time zone; an `end` before `start` is the next morning.
    pub start: String,
    pub end: String,
    /// The days (`mon` … `sun`) on which a stretch begins.
    pub days: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    Off,
    Hourly,
    Daily,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Digest {
    /// `low` notifications' emails are gathered into one per hour or day.
    pub frequency: DigestFrequency,
    /// A daily digest's local time, `HH:MM`.
    pub at: String,
}

/// Everything a user chose, with the defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Preferences {
    /// IANA time zone of the user's quiet hours and digest.
    pub timezone: String,
    /// Channels on or off for everything: a channel off here is off for every category.
    pub channels: Channels,
    /// Every category's channels.
    #[schema(value_type = BTreeMap<String, Channels>)]
    pub categories: BTreeMap<Category, Channels>,
    pub quiet_hours: PersonalQuietHours,
    pub digest: Digest,
}

/// A field that cannot take the value given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PreferenceError {
    pub field: String,
    pub problem: String,
}

fn wrong(field: impl Into<String>, problem: impl Into<String>) -> PreferenceError {
    PreferenceError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// How one notification reaches the user now, in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InApp {
    /// Pushed to their sockets; otherwise only kept in the inbox (`skipped`).
    pub push: bool,
    /// It arrives in their quiet hours: clients should not ring.
    pub quiet: bool,
}

impl Preferences {
    /// The defaults, in `timezone` (the user's church's, or UTC).
    pub fn defaults(timezone: &str) -> Self {
        Self {
            timezone: timezone.to_owned(),
            channels: Channels {
                in_app: true,
                email: true,
                sms: false,
            },
            categories: Category::ALL
                .into_iter()
                .map(|c| (c, default_channels(c)))
                .collect(),
            quiet_hours: PersonalQuietHours {
                enabled: false,
                start: "22:00".to_owned(),
                end: "07:00".to_owned(),
                days: DAYS.iter().map(|(d, _)| (*d).to_owned()).collect(),
            },
            digest: Digest {
                frequency: DigestFrequency::Off,
                at: "08:00".to_owned(),
            },
        }
    }

    /// What was stored (a whole document, written by [`Preferences::apply`]), else the defaults.
    /// A category added since it was stored gets its defaults.
    pub fn stored_or_default(stored: Option<Value>, timezone: &str) -> Self {
        let mut preferences = stored
            .and_then(|v| serde_json::from_value::<Self>(v).ok())
            .unwrap_or_else(|| Self::defaults(timezone));
        for category in Category::ALL {
            preferences
                .categories
                .entry(category)
                .or_insert_with(|| default_channels(category));
        }
        preferences
    }

    /// Applies a partial document (`PATCH`): only what it names changes (`null` is not
    /// naming). Nothing changes if any of it is wrong; the error names the first wrong field.
    pub fn apply(&self, patch: &Value) -> Result<Self, PreferenceError> {
        let mut next = self.clone();
        let fields = patch
            .as_object()
            .ok_or_else(|| wrong("(body)", "must be an object"))?;
        for (key, value) in fields.iter().filter(|(_, v)| !v.is_null()) {
            match key.as_str() {
                "timezone" => {
                    let text = value
                        .as_str()
                        .ok_or_else(|| wrong("timezone", "must be a string"))?;
                    let zone =
                        TimeZoneName::parse(text).map_err(|e| wrong("timezone", e.to_string()))?;
                    next.timezone = zone.as_str().to_owned();
                }
                "channels" => apply_channels(&mut next.channels, value, "channels")?,
                "categories" => {
                    let categories = value
                        .as_object()
                        .ok_or_else(|| wrong("categories", "must be an object"))?;
                    for (name, channels) in categories.iter().filter(|(_, v)| !v.is_null()) {
                        let field = format!("categories.{name}");
                        let category = Category::parse(name)
                            .ok_or_else(|| wrong(&field, "is not a category"))?;
                        let entry = next
                            .categories
                            .entry(category)
                            .or_insert_with(|| default_channels(category));
                        apply_channels(entry, channels, &field)?;
                    }
                }
                "quietHours" => apply_quiet_hours(&mut next.quiet_hours, value)?,
                "digest" => apply_digest(&mut next.digest, value)?,
                other => return Err(wrong(other, "is not a preference")),
            }
        }
        Ok(next)
    }

    /// How a notification of `category` and `priority` reaches the user at `now`.
    pub fn in_app(&self, category: Category, priority: Priority, now: DateTime<Utc>) -> InApp {
        if priority == Priority::Critical {
            return InApp {
                push: true,
                quiet: false,
            };
        }
        InApp {
            push: self.channels_for(category).in_app,
            quiet: self.quiet_at(now),
        }
    }

    /// Whether `at` falls in one of the user's quiet stretches.
    pub fn quiet_at(&self, at: DateTime<Utc>) -> bool {
        self.quiet_until(at).is_some()
    }

    /// The end of the user's quiet stretch that holds `at`, if one does.
    pub fn quiet_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let q = &self.quiet_hours;
        if !q.enabled {
            return None;
        }
        let zone = TimeZoneName::parse(&self.timezone).ok()?;
        let start = ClockTime::parse(&q.start).ok()?;
        let end = ClockTime::parse(&q.end).ok()?;
        let hours = QuietHours::new(zone, start, end).ok()?;
        // The stretch that may hold `at` began today or yesterday (local): it counts if it
        // began on a chosen day.
        let window = hours.window(at);
        if !window.contains(at) {
            return None;
        }
        let began = window.from.with_timezone(&zone.zone()).weekday();
        let chosen = DAYS
            .iter()
            .any(|(name, day)| *day == began && q.days.iter().any(|d| d == name));
        chosen.then_some(window.until)
    }

    /// The channels the user chose for `category`, with the switches for every category
    /// applied.
    pub fn channels_for(&self, category: Category) -> Channels {
        let chosen = self
            .categories
            .get(&category)
            .copied()
            .unwrap_or_else(|| default_channels(category));
        Channels {
            in_app: self.channels.in_app && chosen.in_app,
            email: self.channels.email && chosen.email,
            sms: self.channels.sms && chosen.sms,
        }
    }
}

fn apply_channels(
    channels: &mut Channels,
    value: &Value,
    field: &str,
) -> Result<(), PreferenceError> {
    let given = value
        .as_object()
        .ok_or_else(|| wrong(field, "must be an object of channels"))?;
    for (name, on) in given.iter().filter(|(_, v)| !v.is_null()) {
        let at = format!("{field}.{name}");
        let on = on
            .as_bool()
            .ok_or_else(|| wrong(&at, "must be true or false"))?;
        if !channels.set(name, on) {
            return Err(wrong(&at, "is not a channel (in_app, email, sms)"));
        }
    }
    Ok(())
}

fn time(value: &Value, field: &str) -> Result<String, PreferenceError> {
    let text = value
        .as_str()
        .ok_or_else(|| wrong(field, "must be a time written HH:MM"))?;
    ClockTime::parse(text)
        .map(ClockTime::to_hhmm)
        .map_err(|e| wrong(field, e.to_string()))
}

fn apply_quiet_hours(q: &mut PersonalQuietHours, value: &Value) -> Result<(), PreferenceError> {
    let given = value
        .as_object()
        .ok_or_else(|| wrong("quietHours", "must be an object"))?;
    for (key, v) in given.iter().filter(|(_, v)| !v.is_null()) {
        let field = format!("quietHours.{key}");
        match key.as_str() {
            "enabled" => {
                q.enabled = v
                    .as_bool()
                    .ok_or_else(|| wrong(&field, "must be true or false"))?
            }
            "start" => q.start = time(v, &field)?,
            "end" => q.end = time(v, &field)?,
            "days" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| wrong(&field, "must be a list of days"))?;
                let mut days = Vec::new();
                for day in list {
                    let name = day.as_str().unwrap_or_default();
                    if !DAYS.iter().any(|(d, _)| *d == name) {
                        return Err(wrong(&field, format!("{day} is not a day (mon … sun)")));
                    }
                    if !days.iter().any(|d| d == name) {
                        days.push(name.to_owned());
                    }
                }
                if days.is_empty() {
                    return Err(wrong(&field, "must name at least one day"));
                }
                // Kept in the week's order.
                days.sort_by_key(|d| DAYS.iter().position(|(n, _)| n == d));
                q.days = days;
            }
            _ => return Err(wrong(&field, "is not a quiet-hours setting")),
        }
    }
    if q.start == q.end {
        return Err(wrong("quietHours.end", "must differ from start"));
    }
    Ok(())
}

fn apply_digest(digest: &mut Digest, value: &Value) -> Result<(), PreferenceError> {
    let given = value
        .as_object()
        .ok_or_else(|| wrong("digest", "must be an object"))?;
    for (key, v) in given.iter().filter(|(_, v)| !v.is_null()) {
        let field = format!("digest.{key}");
        match key.as_str() {
            "frequency" => {
                digest.frequency = serde_json::from_value(v.clone())
                    .map_err(|_| wrong(&field, "must be off, hourly or daily"))?
            }
            "at" => digest.at = time(v, &field)?,
            _ => return Err(wrong(&field, "is not a digest setting")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn defaults_list_every_category_and_keep_sms_off() {
        let p = Preferences::defaults("America/Chicago");
        assert_eq!(p.categories.len(), Category::ALL.len());
        assert!(p.categories.values().all(|c| !c.sms && c.in_app));
        assert!(!p.categories[&Category::Delivery].email);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["quietHours"]["days"].as_array().unwrap().len(), 7);
        assert_eq!(json["categories"]["announcement"]["in_app"], true);
        assert_eq!(json["digest"]["frequency"], "off");
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_names_what_is_wrong() {
        let p = Preferences::defaults("UTC");
        let next = p
            .apply(&json!({"categories": {"delivery": {"in_app": false}},
                "quietHours": {"enabled": true, "days": ["sun", "mon", "mon"]}}))
            .unwrap();
        assert!(!next.categories[&Category::Delivery].in_app);
        assert!(next.categories[&Category::Chat].in_app);
        assert_eq!(next.quiet_hours.days, ["mon", "sun"]);
        assert_eq!(next.timezone, "UTC");
        for (patch, field) in [
            (json!({"timezone": "Mars/Olympus"}), "timezone"),
            (
                json!({"categories": {"weather": {"email": true}}}),
                "categories.weather",
            ),
            (json!({"channels": {"pigeon": true}}), "channels.pigeon"),
            (json!({"channels": {"email": "yes"}}), "channels.email"),
            (
                json!({"quietHours": {"start": "25:00"}}),
                "quietHours.start",
            ),
            (json!({"quietHours": {"days": []}}), "quietHours.days"),
            (
                json!({"quietHours": {"days": ["someday"]}}),
                "quietHours.days",
            ),
            (json!({"quietHours": {"start": "07:00"}}), "quietHours.end"),
            (
                json!({"digest": {"frequency": "weekly"}}),
                "digest.frequency",
            ),
            (json!({"volume": 11}), "volume"),
        ] {
            assert_eq!(p.apply(&patch).unwrap_err().field, field, "{patch}");
        }
    }

    #[test]
    fn quiet_hours_follow_the_users_zone_days_and_daylight_saving() {
        let p = Preferences::defaults("Europe/London")
            .apply(
                &json!({"quietHours": {"enabled": true, "start": "22:00", "end": "07:00",
                "days": ["fri"]}}),
            )
            .unwrap();
        // Friday 2026-03-27 23:00 GMT: quiet. Saturday 2026-03-28 23:00 GMT: not a chosen day.
        assert!(p.quiet_at(at("2026-03-27T23:00:00Z")));
        assert!(!p.quiet_at(at("2026-03-28T23:00:00Z")));
        // Friday's stretch runs into Saturday morning: 06:59 BST after the change is 05:59Z.
        let every = p
            .apply(&json!({"quietHours": {"days": ["sat", "sun"]}}))
            .unwrap();
        assert!(every.quiet_at(at("2026-03-29T05:59:00Z")), "06:59 BST");
        assert!(!every.quiet_at(at("2026-03-29T06:00:00Z")), "07:00 BST");
        assert!(!p.quiet_at(at("2026-03-27T21:59:00Z")));
    }

    #[test]
    fn critical_reaches_the_user_whatever_they_chose() {
        let p = Preferences::defaults("UTC")
            .apply(&json!({"channels": {"in_app": false},
                "quietHours": {"enabled": true, "start": "00:00", "end": "23:59"}}))
            .unwrap();
        let now = at("2026-06-01T12:00:00Z");
        assert_eq!(
            p.in_app(Category::System, Priority::High, now),
            InApp {
                push: false,
                quiet: true
            }
        );
        assert_eq!(
            p.in_app(Category::System, Priority::Critical, now),
            InApp {
                push: true,
                quiet: false
            }
        );
    }
}
