//! The breaker's count-based sliding window: the outcomes of the last N calls, and the failure
//! and slow-call rates over them.

use std::collections::VecDeque;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub failed: bool,
    pub slow: bool,
}

#[derive(Debug, Clone)]
pub struct SlidingWindow {
    capacity: usize,
    calls: VecDeque<Call>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub calls: usize,
    pub failures: usize,
    pub slow_calls: usize,
    /// Percent of calls that failed.
    pub failure_rate: f64,
    /// Percent of calls slower than the slow-call threshold.
    pub slow_call_rate: f64,
}

impl SlidingWindow {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            calls: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    pub fn record(&mut self, call: Call) {
        if self.calls.len() == self.capacity {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
    }

    pub fn clear(&mut self) {
        self.calls.clear();
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.iter()
    }

    pub fn rates(&self) -> Rates {
        let calls = self.calls.len();
        let failures = self.calls.iter().filter(|c| c.failed).count();
        let slow_calls = self.calls.iter().filter(|c| c.slow).count();
        let percent = |n: usize| {
            if calls == 0 {
                0.0
            } else {
                n as f64 * 100.0 / calls as f64
            }
        };
        Rates {
            calls,
            failures,
            slow_calls,
            failure_rate: percent(failures),
            slow_call_rate: percent(slow_calls),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Call = Call {
        failed: false,
        slow: false,
    };
    const FAIL: Call = Call {
        failed: true,
        slow: false,
    };
    const SLOW: Call = Call {
        failed: false,
        slow: true,
    };

    #[test]
    fn keeps_only_the_last_calls() {
        let mut w = SlidingWindow::new(4);
        for c in [FAIL, FAIL, OK, OK, OK, OK] {
            w.record(c);
        }
        assert_eq!(w.len(), 4);
        assert_eq!(w.rates().failures, 0);
    }

    #[test]
    fn rates_are_percentages_of_recorded_calls() {
        let mut w = SlidingWindow::new(10);
        assert_eq!(w.rates().failure_rate, 0.0);
        for c in [FAIL, OK, SLOW, FAIL] {
            w.record(c);
        }
        let r = w.rates();
        assert_eq!((r.calls, r.failures, r.slow_calls), (4, 2, 1));
        assert_eq!(r.failure_rate, 50.0);
        assert_eq!(r.slow_call_rate, 25.0);
        w.clear();
        assert!(w.is_empty());
    }
}
