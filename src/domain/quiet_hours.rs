//! A church's quiet hours: the nightly stretch, in the church's own time zone, when its members
//! are not texted. This is the one place that says when that stretch begins and ends; the
//! store keeps the current (or next) stretch as two instants computed here, so that claiming
//! sends and holding them only compare times.
//!
//! Local times are turned into instants with the zone's rules for that date, so a window keeps
//! its wall-clock start and end across a daylight-saving change. Where a local time does not
//! exist (the hour skipped in spring) the window moves to the first minute that does; where it
//! exists twice (the hour repeated in autumn) the window takes the reading that makes it longer:
//! the earlier start, the later end.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// An IANA time zone such as `America/Chicago`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, QuietHoursError> {
        raw.parse::<Tz>()
            .map(Self)
            .map_err(|_| QuietHoursError::UnknownZone(raw.chars().take(64).collect()))
    }

    pub fn zone(self) -> Tz {
        self.0
    }

    pub fn as_str(self) -> &'static str {
        self.0.name()
    }
}

/// A wall-clock time of day, written `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTime(NaiveTime);

impl ClockTime {
    /// What [`ClockTime::parse`] accepts, for the API document.
    pub const PATTERN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]$";

    pub fn parse(raw: &str) -> Result<Self, QuietHoursError> {
        let bad = || QuietHoursError::BadTime(raw.chars().take(16).collect());
        let shape = raw.len() == 5
            && raw.as_bytes()[2] == b':'
            && raw
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 2 || b.is_ascii_digit());
        if !shape {
            return Err(bad());
        }
        NaiveTime::parse_from_str(raw, "%H:%M")
            .map(Self)
            .map_err(|_| bad())
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }

    pub fn from_time(time: NaiveTime) -> Self {
        Self(time)
    }

    pub fn to_hhmm(self) -> String {
        self.0.format("%H:%M").to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("{0:?} is not an IANA time zone (such as America/Chicago)")]
    UnknownZone(String),
    #[error("{0:?} is not a time of day written HH:MM (such as 21:00)")]
    BadTime(String),
    #[error("quiet hours must start and end at different times")]
    Empty,
}

/// One stretch of quiet hours, as instants: `from` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

/// Quiet from `start` to `end` every day in `zone`; an `end` earlier than `start` is the next
/// morning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    zone: Tz,
    start: NaiveTime,
    end: NaiveTime,
}

/// Which reading of a local time that happens twice.
#[derive(Clone, Copy)]
enum Reading {
    Earlier,
    Later,
}

impl QuietHours {
    pub fn new(
        zone: TimeZoneName,
        start: ClockTime,
        end: ClockTime,
    ) -> Result<Self, QuietHoursError> {
        if start == end {
            return Err(QuietHoursError::Empty);
        }
        Ok(Self {
            zone: zone.0,
            start: start.0,
            end: end.0,
        })
    }

    /// The stretch that contains `at`, or else the next one to begin.
    pub fn window(&self, at: DateTime<Utc>) -> Window {
        let today = at.with_timezone(&self.zone).date_naive();
        let first = today.pred_opt().unwrap_or(today);
        // Yesterday's stretch may still be running; one of the next three is always ahead.
        (0..4)
            .filter_map(|n| first.checked_add_days(Days::new(n)))
            .map(|day| self.window_starting(day))
            .find(|w| w.until > at)
            .unwrap_or_else(|| self.window_starting(today))
    }

    /// When a send meant to start at `at` may go: `None` if `at` is outside quiet hours,
    /// otherwise the end of the stretch it falls in.
    pub fn held_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let window = self.window(at);
        window.contains(at).then_some(window.until)
    }

    fn window_starting(&self, day: NaiveDate) -> Window {
        let end_day = match self.end > self.start {
            true => day,
            false => day.succ_opt().unwrap_or(day),
        };
        Window {
            from: self.instant(day, self.start, Reading::Earlier),
            until: self.instant(end_day, self.end, Reading::Later),
        }
    }

    fn instant(&self, day: NaiveDate, time: NaiveTime, reading: Reading) -> DateTime<Utc> {
        instant_in(self.zone, day, time, reading)
    }
}

impl TimeZoneName {
    /// The instant the zone's clocks read `time` on `day`: the earlier reading of a time that
    /// happens twice, the first minute after a time that is skipped.
    pub fn instant(self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        instant_in(self.0, day, time, Reading::Earlier)
    }
}

fn instant_in(zone: Tz, day: NaiveDate, time: NaiveTime, reading: Reading) -> DateTime<Utc> {
    let local = day.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, later) => match reading {
            Reading::Earlier => earlier.with_timezone(&Utc),
            Reading::Later => later.with_timezone(&Utc),
        },
        LocalResult::None => {
            // Skipped by a change of clocks: the first minute after that exists. No zone
            // skips more than a day.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += TimeDelta::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(zone: &str, start: &str, end: &str) -> QuietHours {
        QuietHours::new(
            TimeZoneName::parse(zone).unwrap(),
            ClockTime::parse(start).unwrap(),
            ClockTime::parse(end).unwrap(),
        )
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_evening_in_chicago_is_held_until_eight_the_next_morning() {
        let quiet = hours("America/Chicago", "21:00", "08:00");
        // 22:30 CST on 10 December is 04:30 UTC on the 11th.
        let held = quiet.held_until(utc("2026-12-11T04:30:00Z"));
        assert_eq!(held, Some(utc("2026-12-11T14:00:00Z")), "08:00 CST");
        // Early morning belongs to the stretch that began the evening before.
        let early = quiet.window(utc("2026-12-11T12:00:00Z"));
        assert_eq!(early.from, utc("2026-12-11T03:00:00Z"));
        // Midday is outside; the next stretch is tonight's.
        assert_eq!(quiet.held_until(utc("2026-12-11T18:00:00Z")), None);
        assert_eq!(
            quiet.window(utc("2026-12-11T18:00:00Z")).from,
            utc("2026-12-12T03:00:00Z")
        );
    }

    #[test]
    fn the_window_keeps_its_wall_clock_times_across_daylight_saving() {
        let quiet = hours("America/Chicago", "21:00", "08:00");
        // Clocks go forward on 8 March 2026: the night before ends at 08:00 CDT (13:00 UTC),
        // having started at 21:00 CST (03:00 UTC): ten hours, not eleven.
        let w = quiet.window(utc("2026-03-08T06:00:00Z"));
        assert_eq!(w.from, utc("2026-03-08T03:00:00Z"));
        assert_eq!(w.until, utc("2026-03-08T13:00:00Z"));
        // Clocks go back on 1 November 2026: twelve hours that night.
        let w = quiet.window(utc("2026-11-01T06:00:00Z"));
        assert_eq!(w.from, utc("2026-11-01T02:00:00Z"));
        assert_eq!(w.until, utc("2026-11-01T14:00:00Z"));
    }

    #[test]
    fn a_skipped_or_repeated_local_time_gives_the_longer_window() {
        // 02:30 does not exist in Chicago on 8 March 2026: quiet starts at 03:00 CDT.
        let quiet = hours("America/Chicago", "02:30", "06:00");
        let w = quiet.window(utc("2026-03-08T07:00:00Z"));
        assert_eq!(w.from, utc("2026-03-08T08:00:00Z"));
        assert_eq!(w.until, utc("2026-03-08T11:00:00Z"));
        // 01:30 happens twice on 1 November 2026: quiet ends at the second one (CST).
        let quiet = hours("America/Chicago", "00:00", "01:30");
        let w = quiet.window(utc("2026-11-01T05:10:00Z"));
        assert_eq!(w.from, utc("2026-11-01T05:00:00Z"));
        assert_eq!(w.until, utc("2026-11-01T07:30:00Z"));
    }

    #[test]
    fn a_daytime_window_and_the_edges() {
        let quiet = hours("Europe/London", "09:00", "17:00");
        let w = quiet.window(utc("2026-12-04T09:00:00Z"));
        assert!(
            w.contains(utc("2026-12-04T09:00:00Z")),
            "the start is quiet"
        );
        assert!(!w.contains(utc("2026-12-04T17:00:00Z")), "the end is not");
        assert_eq!(quiet.held_until(utc("2026-12-04T17:00:00Z")), None);
        assert_eq!(
            quiet.window(utc("2026-12-04T18:00:00Z")).from,
            utc("2026-12-05T09:00:00Z")
        );
    }

    #[test]
    fn parsing_refuses_what_is_not_a_zone_or_a_time() {
        assert!(TimeZoneName::parse("America/Chicago").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
        assert_eq!(ClockTime::parse("21:00").unwrap().to_hhmm(), "21:00");
        for bad in [
            "9:00", "24:00", "21:60", "21:00:00", "2100", "ab:cd", "21:0",
        ] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
        let zone = TimeZoneName::parse("UTC").unwrap();
        let nine = ClockTime::parse("09:00").unwrap();
        assert_eq!(
            QuietHours::new(zone, nine, nine),
            Err(QuietHoursError::Empty)
        );
    }
}
