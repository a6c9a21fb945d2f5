//! Church quiet hours in the store: what the church's admins chose, the stretch running or
//! coming next (worked out by [`crate::domain::QuietHours`], kept as two instants so that the
//! outbox only compares times), and which churches are quiet now.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::churches;
use super::{DbError, DbPool, get};
use crate::domain::{ClockTime, QuietHours, TimeZoneName, Window};

/// A church's time zone and quiet hours as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = churches)]
pub struct QuietSettings {
    pub id: i64,
    pub timezone: String,
    #[diesel(column_name = quiet_hours_enabled)]
    pub enabled: bool,
    #[diesel(column_name = quiet_hours_start)]
    pub start: NaiveTime,
    #[diesel(column_name = quiet_hours_end)]
    pub end: NaiveTime,
    pub quiet_from: Option<DateTime<Utc>>,
    pub quiet_until: Option<DateTime<Utc>>,
}

impl QuietSettings {
    /// The rule these settings make, when they are on.
    pub fn hours(&self) -> Option<QuietHours> {
        if !self.enabled {
            return None;
        }
        let zone = TimeZoneName::parse(&self.timezone).ok()?;
        QuietHours::new(
            zone,
            ClockTime::from_time(self.start),
            ClockTime::from_time(self.end),
        )
        .ok()
    }

    /// The stretch running or coming next, as last worked out.
    pub fn window(&self) -> Option<Window> {
        match (self.enabled, self.quiet_from, self.quiet_until) {
            (true, Some(from), Some(until)) => Some(Window { from, until }),
            _ => None,
        }
    }
}

pub async fn settings(pool: &DbPool, church: i64) -> Result<Option<QuietSettings>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .find(church)
        .select(QuietSettings::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// What an admin sets: the zone, and quiet hours on or off between two times.
pub struct NewQuietSettings {
    pub timezone: TimeZoneName,
    pub enabled: bool,
    pub start: ClockTime,
    pub end: ClockTime,
    /// The stretch these settings make now (`None` when off).
    pub window: Option<Window>,
}

/// Stores the settings with their current stretch; `false` if there is no such church.
pub async fn save(pool: &DbPool, church: i64, new: &NewQuietSettings) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let changed = diesel::update(churches::table.find(church))
        .set((
            churches::timezone.eq(new.timezone.as_str()),
            churches::quiet_hours_enabled.eq(new.enabled),
            churches::quiet_hours_start.eq(new.start.time()),
            churches::quiet_hours_end.eq(new.end.time()),
            churches::quiet_from.eq(new.window.map(|w| w.from)),
            churches::quiet_until.eq(new.window.map(|w| w.until)),
        ))
        .execute(&mut conn)
        .await?;
    Ok(changed == 1)
}

/// Churches with quiet hours on whose stretch is over at `now` (or was never worked out).
pub async fn needing_window(
    pool: &DbPool,
    now: DateTime<Utc>,
) -> Result<Vec<QuietSettings>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .filter(churches::quiet_hours_enabled)
        .filter(
            churches::quiet_until
                .is_null()
                .or(churches::quiet_until.le(now)),
        )
        .select(QuietSettings::as_select())
        .load(&mut conn)
        .await?)
}

/// Moves a church to its next stretch, unless its settings changed since they were read (an
/// admin's change, or another node that rolled it first, wins).
pub async fn roll(pool: &DbPool, read: &QuietSettings, next: Window) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let changed = diesel::update(churches::table.find(read.id))
        .filter(churches::quiet_hours_enabled)
        .filter(churches::timezone.eq(&read.timezone))
        .filter(churches::quiet_hours_start.eq(read.start))
        .filter(churches::quiet_hours_end.eq(read.end))
        .filter(churches::quiet_until.is_not_distinct_from(read.quiet_until))
        .set((
            churches::quiet_from.eq(next.from),
            churches::quiet_until.eq(next.until),
        ))
        .execute(&mut conn)
        .await?;
    Ok(changed == 1)
}

/// The churches inside their quiet hours at `now`.
pub async fn quiet_at(pool: &DbPool, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .filter(churches::quiet_hours_enabled)
        .filter(churches::quiet_from.le(now))
        .filter(churches::quiet_until.gt(now))
        .select(churches::id)
        .load(&mut conn)
        .await?)
}

/// Times again the church's messages its quiet hours held, after the quiet hours changed: each
/// goes at `when(t)`, `t` being when it would have gone (never earlier than now), with whether
/// it is still held for them. Only recipients still waiting in the outbox move; the number of
/// messages timed again.
pub async fn retime_held(
    pool: &DbPool,
    church: i64,
    now: DateTime<Utc>,
    when: impl Fn(DateTime<Utc>) -> (DateTime<Utc>, bool) + Send + Sync,
) -> Result<usize, DbError> {
    use super::schema::{message_recipients, messages};
    use diesel_async::AsyncConnection;
    let mut conn = get(pool).await?;
    let moved = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let held: Vec<(i64, Option<DateTime<Utc>>)> = messages::table
                .filter(messages::church_id.eq(church))
                .filter(messages::held_for_quiet_hours)
                .filter(messages::status.eq("scheduled"))
                .filter(messages::cancelled_at.is_null())
                .select((messages::id, messages::held_from))
                .for_update()
                .load(conn)
                .await?;
            for (id, from) in &held {
                let (at, still_held) = when(from.unwrap_or(now).max(now));
                diesel::update(messages::table.find(id))
                    .set((
                        messages::send_at.eq(at),
                        messages::held_for_quiet_hours.eq(still_held),
                    ))
                    .execute(conn)
                    .await?;
                diesel::update(message_recipients::table)
                    .filter(message_recipients::message_id.eq(id))
                    .filter(message_recipients::outbox_state.eq("ready"))
                    .set(message_recipients::next_attempt_at.eq(at))
                    .execute(conn)
                    .await?;
            }
            Ok(held.len())
        })
        .await?;
    Ok(moved)
}
