//! The dashboard's throughput chart: for each church, carrier sends accepted, deliveries the
//! carrier reported, and events written into its people's sockets, over the last 15 minutes in
//! 10-second steps.
//!
//! Prometheus has these as platform-wide counters, but a church's admin may see only their own
//! church, and most churches run no Prometheus. So each church keeps three running totals
//! (recording is one atomic add on a handle the caller already holds), and every 10 seconds
//! the totals' growth is kept as one point. A church with nothing happening costs nothing in a
//! point. Sockets of accounts without a church (operators) count under [`PLATFORM`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::Serialize;

/// One point of the chart.
pub const STEP: Duration = Duration::from_secs(10);
/// Points kept: 15 minutes.
pub const KEPT: usize = 90;
/// The tally of what belongs to no church (operators' sockets).
pub const PLATFORM: i64 = 0;

/// One church's running totals.
#[derive(Debug, Default)]
pub struct ChurchTally {
    sends: AtomicU64,
    deliveries: AtomicU64,
    socket_events: AtomicU64,
}

impl ChurchTally {
    pub fn send_accepted(&self) {
        self.sends.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivered(&self, n: u64) {
        self.deliveries.fetch_add(n, Ordering::Relaxed);
    }

    pub fn socket_event(&self) {
        self.socket_events.fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> Counts {
        Counts {
            sends: self.sends.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
            socket_events: self.socket_events.load(Ordering::Relaxed),
        }
    }
}

/// Carrier sends accepted, deliveries the carrier reported, events written into sockets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ThroughputCounts)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub sends: u64,
    pub deliveries: u64,
    pub socket_events: u64,
}

impl Counts {
    fn since(self, before: Counts) -> Counts {
        Counts {
            sends: self.sends.saturating_sub(before.sends),
            deliveries: self.deliveries.saturating_sub(before.deliveries),
            socket_events: self.socket_events.saturating_sub(before.socket_events),
        }
    }

    fn add(&mut self, other: Counts) {
        self.sends += other.sends;
        self.deliveries += other.deliveries;
        self.socket_events += other.socket_events;
    }

    fn is_zero(self) -> bool {
        self == Counts::default()
    }
}

/// One step of the chart: what happened from `at` for `seconds`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ThroughputPoint)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub at: DateTime<Utc>,
    /// The step's length; the last point is the step still running, so shorter.
    pub seconds: f64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Whose points to read.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Church(i64),
    /// Every church and the platform's own sockets (operators).
    Everyone,
}

impl Scope {
    fn includes(self, church: i64) -> bool {
        match self {
            Scope::Church(id) => id == church,
            Scope::Everyone => true,
        }
    }
}

struct Step {
    at: DateTime<Utc>,
    seconds: f64,
    /// Only churches that did something in this step.
    by_church: HashMap<i64, Counts>,
}

struct History {
    steps: VecDeque<Step>,
    /// The totals when the running step began.
    baseline: HashMap<i64, Counts>,
    step_began: DateTime<Utc>,
}

pub struct Throughput {
    tallies: DashMap<i64, Arc<ChurchTally>>,
    history: Mutex<History>,
}

impl Throughput {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            tallies: DashMap::new(),
            history: Mutex::new(History {
                steps: VecDeque::with_capacity(KEPT),
                baseline: HashMap::new(),
                step_began: now,
            }),
        }
    }

    /// The church's tally, for the caller to keep and count into.
    pub fn church(&self, church: i64) -> Arc<ChurchTally> {
        if let Some(tally) = self.tallies.get(&church) {
            return Arc::clone(&tally);
        }
        Arc::clone(&self.tallies.entry(church).or_default())
    }

    /// Closes the running step at `now` and starts the next.
    pub fn step(&self, now: DateTime<Utc>) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_church = HashMap::new();
        for entry in self.tallies.iter() {
            let totals = entry.value().counts();
            let before = history
                .baseline
                .insert(*entry.key(), totals)
                .unwrap_or_default();
            let grown = totals.since(before);
            if !grown.is_zero() {
                by_church.insert(*entry.key(), grown);
            }
        }
        let step = Step {
            at: history.step_began,
            seconds: seconds_between(history.step_began, now),
            by_church,
        };
        if history.steps.len() == KEPT {
            history.steps.pop_front();
        }
        history.steps.push_back(step);
        history.step_began = now;
    }

    /// The kept steps, oldest first, then the running one up to `now`.
    pub fn points(&self, scope: Scope, now: DateTime<Utc>) -> Vec<Point> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut points: Vec<Point> = history
            .steps
            .iter()
            .map(|step| Point {
                at: step.at,
                seconds: step.seconds,
                counts: sum(step
                    .by_church
                    .iter()
                    .filter(|(church, _)| scope.includes(**church))
                    .map(|(_, counts)| *counts)),
            })
            .collect();
        let running = sum(self
            .tallies
            .iter()
            .filter(|entry| scope.includes(*entry.key()))
            .map(|entry| {
                let before = history
                    .baseline
                    .get(entry.key())
                    .copied()
                    .unwrap_or_default();
                entry.value().counts().since(before)
            }));
        points.push(Point {
            at: history.step_began,
            seconds: seconds_between(history.step_began, now),
            counts: running,
        });
        points
    }

    /// Steps every [`STEP`] until `shutdown` flips.
    pub fn keep_stepping(self: &Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let throughput = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(STEP);
            // The first tick is immediate: the running step began when this was made.
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => throughput.step(Utc::now()),
                    _ = shutdown.changed() => return,
                }
            }
        });
    }
}

fn sum(counts: impl Iterator<Item = Counts>) -> Counts {
    let mut total = Counts::default();
    counts.for_each(|c| total.add(c));
    total
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap()
    }

    #[test]
    fn each_step_holds_what_grew_in_it_and_a_church_sees_only_its_own() {
        let throughput = Throughput::new(at(0));
        let (one, two) = (throughput.church(1), throughput.church(2));
        one.send_accepted();
        one.send_accepted();
        two.socket_event();
        throughput.step(at(10));
        one.delivered(2);
        two.socket_event();
        let points = throughput.points(Scope::Church(1), at(14));
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].at, at(0));
        assert_eq!(points[0].seconds, 10.0);
        assert_eq!(
            points[0].counts,
            Counts {
                sends: 2,
                deliveries: 0,
                socket_events: 0
            }
        );
        assert_eq!(points[1].at, at(10));
        assert_eq!(points[1].seconds, 4.0);
        assert_eq!(points[1].counts.deliveries, 2);
        let everyone = throughput.points(Scope::Everyone, at(14));
        assert_eq!(everyone[0].counts.socket_events, 1);
        assert_eq!(everyone[1].counts.socket_events, 1);
        assert_eq!(everyone[1].counts.deliveries, 2);
        let other = throughput.points(Scope::Church(3), at(14));
        assert!(other.iter().all(|p| p.counts.is_zero()));
    }

    #[test]
    fn only_the_last_fifteen_minutes_are_kept() {
        let throughput = Throughput::new(at(0));
        let tally = throughput.church(7);
        for step in 1..=(KEPT as i64 + 5) {
            tally.send_accepted();
            throughput.step(at(step * 10));
        }
        let points = throughput.points(Scope::Church(7), at(KEPT as i64 * 10 + 55));
        assert_eq!(points.len(), KEPT + 1);
        assert_eq!(points[0].at, at(50));
        assert!(points[..KEPT].iter().all(|p| p.counts.sends == 1));
        assert_eq!(points[KEPT].counts.sends, 0);
    }
}
