//! Pacing per sender number, and slowing down when Telnyx throttles.

use std::time::{Duration, Instant};

use super::fake_telnyx::Reply;
use super::helpers::spawn_app_with;

/// The most requests that arrived within any `window`.
fn busiest(arrivals: &[Instant], window: Duration) -> usize {
    arrivals
        .iter()
        .enumerate()
        .map(|(i, start)| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_never_exceed_the_configured_pace() {
    let mut app =
        spawn_app_with(&[("BELFRY_SEND_RATE", "20"), ("BELFRY_SENDER_WORKERS", "8")]).await;
    app.add_members(37).await;
    let token = app.login(&app.grace.staff_email).await;
    app.send(&token, &app.grace.member_ids.clone()).await;
    let requests = app.telnyx.wait_for_requests(40).await;
    let arrivals: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    // 20 per second means starts 50 ms apart: at most 20 in any second (less 50 ms for
    // loopback jitter), and 40 requests take at least 39 intervals.
    assert!(
        busiest(&arrivals, Duration::from_millis(950)) <= 20,
        "{}",
        busiest(&arrivals, Duration::from_millis(950))
    );
    let span = *arrivals.last().unwrap() - arrivals[0];
    assert!(span >= Duration::from_millis(1900), "{span:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_storm_pauses_the_sender_until_the_reset_and_slows_it_down() {
    let mut app = spawn_app_with(&[
        ("BELFRY_SEND_RATE", "20"),
        ("BELFRY_SENDER_WORKERS", "8"),
        ("BELFRY_SEND_MAX_ATTEMPTS", "10"),
    ])
    .await;
    app.add_members(7).await;
    let token = app.login(&app.grace.staff_email).await;
    app.telnyx.script([
        Reply::RateLimited { reset_secs: 1 },
        Reply::RateLimited { reset_secs: 1 },
    ]);
    let id = app.send(&token, &app.grace.member_ids.clone()).await;
    app.wait_for_message(&token, id, |m| {
        m["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "queued")
    })
    .await;
    let requests = app.telnyx.requests();
    let arrivals: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    assert_eq!(requests.len(), 12, "10 recipients and 2 throttled attempts");
    // After each throttled answer nothing starts until its reset is over.
    for throttled in [arrivals[0], arrivals[1]] {
        let too_early = arrivals
            .iter()
            .filter(|t| {
                **t > throttled + Duration::from_millis(20)
                    && **t < throttled + Duration::from_millis(950)
            })
            .count();
        assert_eq!(too_early, 0, "requests during the reset window");
    }
    assert!(busiest(&arrivals, Duration::from_millis(950)) <= 20);
    // Slowed down: the ten that follow are spaced wider than the configured 50 ms.
    let after = &arrivals[2..];
    let span = *after.last().unwrap() - after[0];
    assert!(span >= Duration::from_millis(9 * 50 * 2), "{span:?}");
}
