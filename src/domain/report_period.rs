//! The stretch of days a report covers, in the church's own calendar, and how it is cut into
//! intervals (days, or weeks from Monday as ISO 8601 counts them).

use chrono::{Datelike, Days, NaiveDate};

/// How a report cuts its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
}

impl Interval {
    pub const ALL: [Self; 2] = [Self::Day, Self::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == raw)
    }

    /// The first day of the interval holding `day`. PostgreSQL's `date_trunc` with
    /// [`Self::as_str`] as its unit agrees: weeks start on Monday.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Days::new(day.weekday().num_days_from_monday().into()),
        }
    }

    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        start.checked_add_days(Days::new(match self {
            Self::Day => 1,
            Self::Week => 7,
        }))
    }
}

/// Days `since` to `until`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportPeriod {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub interval: Interval,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{0} must be a date written YYYY-MM-DD")]
    NotADate(&'static str),
    #[error("interval must be day or week")]
    UnknownInterval,
    #[error("since must not be after until")]
    Backwards,
    #[error("a report covers at most {MAX_DAYS} days")]
    TooLong,
}

/// The longest period one report covers: two years and a day.
pub const MAX_DAYS: u64 = 731;

/// The period asked for when none is: the last 30 days, or by week the last 12 weeks (this
/// one and the 11 before it).
const DEFAULT_DAYS: u64 = 29;
const DEFAULT_WEEKS_IN_DAYS: u64 = 7 * 11;

impl ReportPeriod {
    /// Reads the query's values; `today` is the church's date now, the default `until`.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        interval: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, PeriodError> {
        let interval = match interval {
            None => Interval::Day,
            Some(raw) => Interval::parse(raw).ok_or(PeriodError::UnknownInterval)?,
        };
        let until = date("until", until)?.unwrap_or(today);
        let since = match date("since", since)? {
            Some(since) => since,
            None => {
                let (from, back) = match interval {
                    Interval::Day => (until, DEFAULT_DAYS),
                    Interval::Week => (interval.start_of(until), DEFAULT_WEEKS_IN_DAYS),
                };
                from.checked_sub_days(Days::new(back)).unwrap_or(until)
            }
        };
        if since > until {
            return Err(PeriodError::Backwards);
        }
        if (until - since).num_days() as u64 >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self {
            since,
            until,
            interval,
        })
    }

    /// The day after the last: the period ends at its start.
    pub fn end(&self) -> NaiveDate {
        self.until.succ_opt().unwrap_or(self.until)
    }

    /// The first day of every interval, in order; the first may start before `since`.
    pub fn starts(&self) -> Vec<NaiveDate> {
        let mut starts = Vec::new();
        let mut start = Some(self.interval.start_of(self.since));
        while let Some(day) = start.filter(|d| *d <= self.until) {
            starts.push(day);
            start = self.interval.next(day);
        }
        starts
    }
}

/// A full date exactly as RFC 3339 writes it (chrono alone would also take `2026-3-1`).
fn date(name: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, PeriodError> {
    raw.map(|r| {
        let shaped = r.len() == 10
            && r.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        shaped
            .then(|| NaiveDate::parse_from_str(r, "%Y-%m-%d").ok())
            .flatten()
            .ok_or(PeriodError::NotADate(name))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    #[test]
    fn a_year_by_day_has_a_start_for_every_day() {
        let period = ReportPeriod::parse(
            Some("2026-01-01"),
            Some("2026-12-31"),
            None,
            day("2026-12-31"),
        )
        .unwrap();
        let starts = period.starts();
        assert_eq!(starts.len(), 365);
        assert_eq!(starts[0], day("2026-01-01"));
        assert_eq!(starts[364], day("2026-12-31"));
        assert_eq!(period.end(), day("2027-01-01"));
    }

    #[test]
    fn weeks_start_on_monday_even_before_since() {
        // 2026-12-03 is a Thursday.
        let period = ReportPeriod::parse(
            Some("2026-12-03"),
            Some("2026-12-14"),
            Some("week"),
            day("2026-12-14"),
        )
        .unwrap();
        assert_eq!(
            period.starts(),
            vec![day("2026-11-30"), day("2026-12-07"), day("2026-12-14")]
        );
    }

    #[test]
    fn the_default_is_the_last_thirty_days_up_to_today() {
        let period = ReportPeriod::parse(None, None, None, day("2026-12-04")).unwrap();
        assert_eq!(period.since, day("2026-11-05"));
        assert_eq!(period.until, day("2026-12-04"));
        assert_eq!(period.starts().len(), 30);
        let weekly = ReportPeriod::parse(None, None, Some("week"), day("2026-12-04")).unwrap();
        assert_eq!(weekly.starts().len(), 12);
    }

    #[test]
    fn bad_periods_are_refused_with_the_reason() {
        let today = day("2026-12-04");
        let parse = |s, u, i| ReportPeriod::parse(s, u, i, today);
        assert_eq!(
            parse(Some("2026-13-01"), None, None),
            Err(PeriodError::NotADate("since"))
        );
        assert_eq!(
            parse(None, Some("yesterday"), None),
            Err(PeriodError::NotADate("until"))
        );
        assert_eq!(
            parse(Some("2026-3-1"), None, None),
            Err(PeriodError::NotADate("since"))
        );
        assert_eq!(
            parse(Some("+2026-03-01"), None, None),
            Err(PeriodError::NotADate("since"))
        );
        assert_eq!(
            parse(None, None, Some("month")),
            Err(PeriodError::UnknownInterval)
        );
        assert_eq!(
            parse(Some("2026-12-05"), Some("2026-12-04"), None),
            Err(PeriodError::Backwards)
        );
        assert_eq!(
            parse(Some("2020-01-01"), Some("2026-12-04"), None),
            Err(PeriodError::TooLong)
        );
        assert!(parse(Some("2024-12-04"), Some("2026-12-04"), None).is_ok());
    }
}
