//! A room's numbered events and the recent ones it keeps, so that a socket that reconnects can
//! be given exactly what it missed.
//!
//! Every event a room publishes gets the next `seq` (1, 2, 3, … with no gaps) within the
//! room's `epoch`. The epoch names one unbroken history: a room that starts afresh (first
//! member, a restart after a panic, a process restart) draws a new one, telling clients that
//! what they hold cannot be continued. The history is bounded by count and by age.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::ports::EventSink;
use crate::protocol::{EncodedFrame, Frame, Numbered, RoomEvent, RoomPoint};

/// Where a reconnecting socket left a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeFrom {
    pub epoch: String,
    pub seq: u64,
}

/// How much history each room keeps.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    pub max_events: usize,
    pub max_age: Duration,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            max_events: 1000,
            max_age: Duration::from_secs(300),
        }
    }
}

pub struct EventLog {
    room: String,
    epoch: String,
    /// The last seq given out; 0 before the first event.
    seq: u64,
    kept: VecDeque<(u64, Instant, EncodedFrame)>,
    limits: HistoryLimits,
}

/// What a socket resuming from a point of this room's history is owed.
#[derive(Debug)]
pub enum Resume {
    /// Every event after that point, in order (possibly none).
    Missed(Vec<EncodedFrame>),
    /// That point is not in this history any more: start over from the present.
    Gone,
}

impl EventLog {
    pub fn new(room: &str, limits: HistoryLimits) -> Self {
        Self {
            room: room.to_owned(),
            epoch: new_epoch(),
            seq: 0,
            kept: VecDeque::new(),
            limits,
        }
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When the newest kept event expires; `None` when nothing is kept.
    pub fn kept_until(&self) -> Option<Instant> {
        self.kept.back().map(|(_, at, _)| *at + self.limits.max_age)
    }

    /// Numbers an event and keeps it; returns the frame every member receives.
    pub fn record(&mut self, event: &RoomEvent) -> EncodedFrame {
        self.seq += 1;
        let numbered = EncodedFrame::numbered(&Numbered {
            room: &self.room,
            epoch: &self.epoch,
            seq: self.seq,
            event,
        });
        let now = Instant::now();
        self.kept.push_back((self.seq, now, numbered.clone()));
        self.evict(now);
        numbered
    }

    fn evict(&mut self, now: Instant) {
        while self.kept.len() > self.limits.max_events {
            self.kept.pop_front();
        }
        while self
            .kept
            .front()
            .is_some_and(|(_, at, _)| now.duration_since(*at) > self.limits.max_age)
        {
            self.kept.pop_front();
        }
    }

    /// What a socket that saw this room up to `seq` of `epoch` missed.
    pub fn since(&mut self, epoch: &str, seq: u64) -> Resume {
        if epoch != self.epoch || seq > self.seq {
            return Resume::Gone;
        }
        self.evict(Instant::now());
        if seq == self.seq {
            return Resume::Missed(Vec::new());
        }
        match self.kept.front() {
            // The first missed event must still be here.
            Some((oldest, _, _)) if *oldest <= seq + 1 => Resume::Missed(
                self.kept
                    .iter()
                    .filter(|(s, _, _)| *s > seq)
                    .map(|(_, _, e)| e.clone())
                    .collect(),
            ),
            _ => Resume::Gone,
        }
    }

    /// Sends a joining socket what it is owed, in order: `joined`, or `resumed` and the
    /// missed events, or `reset`. `false` if the socket could not take it all.
    pub fn greet(&mut self, sink: &dyn EventSink, resume: Option<ResumeFrom>) -> bool {
        match resume {
            None => sink.deliver(&EncodedFrame::frame(&Frame::Joined(self.point()))),
            Some(from) => match self.since(&from.epoch, from.seq) {
                Resume::Missed(missed) => {
                    let resumed = Frame::Resumed {
                        at: self.point(),
                        from: from.seq,
                        missed: missed.len(),
                    };
                    sink.deliver(&EncodedFrame::frame(&resumed))
                        && missed.iter().all(|event| sink.deliver(event))
                }
                Resume::Gone => sink.deliver(&self.reset()),
            },
        }
    }

    /// Where this history stands now.
    pub fn point(&self) -> RoomPoint {
        RoomPoint {
            room: self.room.clone(),
            epoch: self.epoch.clone(),
            seq: self.seq,
        }
    }

    /// Tells a socket that what it had of this room cannot be continued.
    pub fn reset(&self) -> EncodedFrame {
        EncodedFrame::frame(&Frame::Reset(self.point()))
    }
}

/// Twelve base-36 characters from the clock and randomness: distinct across restarts.
fn new_epoch() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let mixed = (millis << 20) ^ rand::random::<u64>() >> 8;
    let mut n = mixed;
    let mut out = Vec::with_capacity(13);
    while n > 0 && out.len() < 12 {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    if out.is_empty() {
        out.push(b'0');
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> RoomEvent {
        RoomEvent::ChatRead {
            user_id: 1,
            message_id: n,
        }
    }

    fn seqs(missed: &[EncodedFrame]) -> Vec<u64> {
        missed
            .iter()
            .map(|e| {
                let v: serde_json::Value = serde_json::from_str(e.as_str()).unwrap();
                v["seq"].as_u64().unwrap()
            })
            .collect()
    }

    #[test]
    fn events_are_numbered_without_gaps_and_keep_their_fields() {
        let mut history = EventLog::new("church:1", HistoryLimits::default());
        let first = history.record(&event(7));
        let v: serde_json::Value = serde_json::from_str(first.as_str()).unwrap();
        assert_eq!(v["room"], "church:1");
        assert_eq!(v["epoch"], history.epoch());
        assert_eq!(v["seq"], 1);
        assert_eq!(v["type"], "chat:read");
        assert_eq!(v["messageId"], 7);
        history.record(&event(8));
        assert_eq!(history.seq(), 2);
    }

    #[test]
    fn a_resume_gets_exactly_what_it_missed_or_is_told_it_is_gone() {
        let limits = HistoryLimits {
            max_events: 3,
            max_age: Duration::from_secs(60),
        };
        let mut history = EventLog::new("church:1", limits);
        for n in 0..5 {
            history.record(&event(n));
        }
        let epoch = history.epoch().to_owned();
        // Kept: 3, 4, 5.
        match history.since(&epoch, 2) {
            Resume::Missed(missed) => assert_eq!(seqs(&missed), vec![3, 4, 5]),
            Resume::Gone => panic!("seq 3 is still kept"),
        }
        match history.since(&epoch, 4) {
            Resume::Missed(missed) => assert_eq!(seqs(&missed), vec![5]),
            Resume::Gone => panic!("seq 5 is kept"),
        }
        assert!(matches!(history.since(&epoch, 5), Resume::Missed(m) if m.is_empty()));
        assert!(
            matches!(history.since(&epoch, 1), Resume::Gone),
            "seq 2 was dropped"
        );
        assert!(matches!(history.since("other", 4), Resume::Gone));
        assert!(
            matches!(history.since(&epoch, 9), Resume::Gone),
            "from the future"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn old_events_expire() {
        let limits = HistoryLimits {
            max_events: 100,
            max_age: Duration::from_secs(10),
        };
        let mut history = EventLog::new("user:1", limits);
        history.record(&event(1));
        tokio::time::advance(Duration::from_secs(11)).await;
        history.record(&event(2));
        let epoch = history.epoch().to_owned();
        assert!(matches!(history.since(&epoch, 0), Resume::Gone));
        assert!(matches!(history.since(&epoch, 1), Resume::Missed(m) if m.len() == 1));
    }

    #[test]
    fn each_history_has_its_own_epoch() {
        let a = EventLog::new("church:1", HistoryLimits::default());
        let b = EventLog::new("church:1", HistoryLimits::default());
        assert_ne!(a.epoch(), b.epoch());
    }
}
