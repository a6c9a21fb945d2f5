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
