//! Pacing of sends per sender number: requests start at least `1/rate` apart across all
//! workers (one at a time, measured between the moments they really start, so a late request
//! never lets the next ones bunch up), and the carrier's "too many requests" answers slow the
//! sender down, honouring the reset hint it gives.

use std::time::Duration;

use tokio::time::Instant;

/// The longest a throttle answer stretches the spacing: 16 times the configured interval.
const MAX_SLOWDOWN: f64 = 16.0;
/// Each accepted call takes back this share of the slowdown.
const RECOVERY: f64 = 0.9;
/// How long sends pause after a throttle answer without a reset hint.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

pub struct Pacer {
    /// `None`: not paced, only throttle pauses apply.
    interval: Option<Duration>,
    /// When the last request was let go. Held while a request waits for its turn, so requests
    /// go one at a time and the spacing is measured between the moments they really start.
    turn: tokio::sync::Mutex<Option<Instant>>,
    /// When the last call really went out. Between a turn and its call the attempt is marked
    /// in the database, in batches, which can bunch calls together again: they are spaced
    /// once more here, so the carrier never sees more than the pace.
    call: tokio::sync::Mutex<Option<Instant>>,
    tuning: std::sync::Mutex<Tuning>,
}

struct Tuning {
    /// No request starts before this (a throttle answer's reset).
    paused_until: Instant,
    slowdown: f64,
}

impl Pacer {
    /// `rate_per_second` of 0 means unpaced.
    pub fn new(rate_per_second: f64) -> Self {
        let interval =
            (rate_per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / rate_per_second));
        Self {
            interval,
            turn: tokio::sync::Mutex::new(None),
            call: tokio::sync::Mutex::new(None),
            tuning: std::sync::Mutex::new(Tuning {
                paused_until: Instant::now(),
                slowdown: 1.0,
            }),
        }
    }

    fn tuning(&self) -> std::sync::MutexGuard<'_, Tuning> {
        self.tuning.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this request's turn. A throttle answer that arrives while waiting moves the
    /// turn past the pause.
    pub async fn acquire(&self) {
        self.space(&self.turn).await;
    }

    /// Waits, right before the call, until it is at least the spacing after the previous call.
    /// Turns are spaced already, so this waits only when something between bunched them.
    pub async fn call_starts(&self) {
        self.space(&self.call).await;
    }

    async fn space(&self, slot: &tokio::sync::Mutex<Option<Instant>>) {
        let mut last = slot.lock().await;
        loop {
            let (paused_until, spacing) = {
                let t = self.tuning();
                let spacing = self
                    .interval
                    .map_or(Duration::ZERO, |i| i.mul_f64(t.slowdown));
                (t.paused_until, spacing)
            };
            // A timer, even one already due, fires on the timer's next millisecond tick: with
            // the turn held, sleeping when there is nothing to wait for would alone cap sends
            // at about a thousand a second.
            if let Some(target) = wait_until(*last, spacing, paused_until, Instant::now()) {
                tokio::time::sleep_until(target).await;
            }
            if self.tuning().paused_until <= Instant::now() {
                break;
            }
        }
        *last = Some(Instant::now());
    }

    /// The carrier said "too many requests": pause until its reset hint, and space requests
    /// further apart until calls succeed again.
    pub async fn throttled(&self, reset: Option<Duration>) {
        let mut t = self.tuning();
        let resume = Instant::now() + reset.unwrap_or(DEFAULT_PAUSE);
        t.paused_until = t.paused_until.max(resume);
        t.slowdown = (t.slowdown * 2.0).min(MAX_SLOWDOWN);
    }

    pub async fn succeeded(&self) {
        let mut t = self.tuning();
        t.slowdown = (t.slowdown * RECOVERY).max(1.0);
    }

    /// Current spacing between requests.
    #[cfg(test)]
    async fn current_interval(&self) -> Option<Duration> {
        let slowdown = self.tuning().slowdown;
        self.interval.map(|i| i.mul_f64(slowdown))
    }
}

/// When the next request may start, if that is later than `now`.
fn wait_until(
    last: Option<Instant>,
    spacing: Duration,
    paused_until: Instant,
    now: Instant,
) -> Option<Instant> {
    let target = last.map_or(now, |at| at + spacing).max(paused_until);
    (target > now).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_interval() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        for _ in 0..5 {
            pacer.acquire().await;
        }
        // Slots at 0, 100, 200, 300, 400 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[test]
    fn nothing_to_wait_for_means_no_timer() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        // Unpaced, not paused: go at once, whether or not a request went before.
        assert_eq!(wait_until(None, Duration::ZERO, now, now), None);
        assert_eq!(
            wait_until(Some(now), Duration::ZERO, now - ms(5), now),
            None
        );
        // A slot already past: go at once.
        assert_eq!(wait_until(Some(now - ms(200)), ms(100), now, now), None);
        // Otherwise, wait for the slot or the end of the pause, whichever is later.
        assert_eq!(
            wait_until(Some(now), ms(100), now, now),
            Some(now + ms(100))
        );
        assert_eq!(
            wait_until(Some(now), ms(100), now + ms(300), now),
            Some(now + ms(300))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn calls_bunched_after_their_turns_are_spaced_again() {
        let pacer = Pacer::new(10.0);
        for _ in 0..3 {
            pacer.acquire().await;
        }
        // The three turns were 100 ms apart; suppose their calls are then held up and all
        // come at once.
        let start = Instant::now();
        for _ in 0..3 {
            pacer.call_starts().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_pauses_until_the_reset_and_slows_down() {
        let pacer = Pacer::new(10.0);
        pacer.acquire().await;
        let start = Instant::now();
        pacer.throttled(Some(Duration::from_secs(2))).await;
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(
            pacer.current_interval().await,
            Some(Duration::from_millis(200))
        );
        for _ in 0..20 {
            pacer.succeeded().await;
        }
        assert_eq!(
            pacer.current_interval().await,
            Some(Duration::from_millis(100))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_while_waiting_moves_the_slot() {
        let pacer = std::sync::Arc::new(Pacer::new(10.0));
        pacer.acquire().await;
        let start = Instant::now();
        let waiting = {
            let pacer = std::sync::Arc::clone(&pacer);
            tokio::spawn(async move {
                pacer.acquire().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        pacer.throttled(Some(Duration::from_secs(1))).await;
        let started = waiting.await.unwrap();
        assert!(
            started - start >= Duration::from_millis(1010),
            "{:?}",
            started - start
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_still_honours_throttles() {
        let pacer = Pacer::new(0.0);
        let start = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.throttled(None).await;
        pacer.acquire().await;
        assert_eq!(start.elapsed(), DEFAULT_PAUSE);
    }
}
