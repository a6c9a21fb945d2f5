//! A job every node runs on a fixed period until the server shuts down: a slow pass delays the
//! next instead of piling passes up (the sending watch, the summary watch).

use std::time::Duration;

use tokio::sync::watch;

/// Runs `pass` now and then every `period`, until `shutdown` turns true.
pub fn spawn_every<F, Fut>(period: Duration, mut shutdown: watch::Receiver<bool>, mut pass: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stopping = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = tick.tick() => pass().await,
                _ = &mut stopping => return,
            }
        }
    });
}

/// Batches one pass works through before the next pass, so a backlog cannot starve the timer.
const BATCHES_PER_PASS: usize = 25;

/// Runs `batch` (which claims and works through up to `full` things) until one claims fewer
/// than `full`, or [`BATCHES_PER_PASS`] have run; false when claiming failed.
pub async fn drain<F, Fut, E>(full: i64, what: &str, mut batch: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
    E: std::fmt::Display,
{
    for _ in 0..BATCHES_PER_PASS {
        match batch().await {
            Ok(n) if n as i64 == full => continue,
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim {what}");
                return false;
            }
        }
    }
    true
}
