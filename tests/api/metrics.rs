//! `GET /metrics` read as Prometheus reads it (a text-format parser), the series moving when a
//! message is sent and a socket watches it; who may read it; `GET /ready`.

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::Value;

use super::helpers::{TestApp, spawn_app, spawn_app_with};

struct Scraped(Vec<Sample>);

impl Scraped {
    async fn from(app: &TestApp) -> Scraped {
        let response = ask(app, "/metrics", None).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = response.text().await.unwrap();
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
        for name in [
            "belfry_http_requests_total",
            "belfry_send_attempts_total",
            "belfry_sockets_open",
            "belfry_outbox_depth",
        ] {
            assert!(scrape.docs.contains_key(name), "no HELP for {name}");
        }
        Scraped(scrape.samples)
    }

    /// The value of one series (a histogram's: how many it observed); `None` if absent.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
                Metric::Histogram(buckets) => {
                    buckets
                        .iter()
                        .find(|b| b.less_than.is_infinite())
                        .expect("a +Inf bucket")
                        .count
                }
                Metric::Summary(_) => panic!("{name} is a summary, not a histogram"),
            })
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in the scrape"))
    }

    fn or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels).unwrap_or(0.0)
    }
}

const ACCEPTED: (&str, &str) = ("outcome", "accepted");
const TELNYX: (&str, &str) = ("carrier", "telnyx");
const SEND_ROUTE: [(&str, &str); 2] = [("method", "POST"), ("route", "/api/messages")];

#[tokio::test(flavor = "multi_thread")]
async fn the_series_move_when_a_message_is_sent_and_watched() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let before = Scraped::from(&app).await;
    assert_eq!(before.get("belfry_sockets_open", &[]), 0.0);
    assert_eq!(
        before.get("belfry_breaker_state", &[("state", "closed")]),
        1.0
    );
    assert_eq!(
        before.get("belfry_breaker_state", &[("state", "open")]),
        0.0
    );
    assert_eq!(before.get("belfry_dead_letters_open", &[]), 0.0);
    assert!(before.get("belfry_actors", &[("kind", "supervisor")]) >= 1.0);
    let pool = before.get("belfry_db_pool_connections", &[("state", "in_use")])
        + before.get("belfry_db_pool_connections", &[("state", "idle")]);
    assert!(pool >= 1.0, "the pool has connections: {pool}");

    let mut socket = app.connect(&token).await;
    let id = app.send(&token, &app.grace.member_ids).await;
    let n = app.grace.member_ids.len();
    app.accepted(&token, id, n).await;
    // A room event about the message reached the socket.
    let events = socket
        .until(Duration::from_secs(10), |e| e["messageId"] == id)
        .await;
    assert!(events.iter().any(|e| e["messageId"] == id));

    let after = Scraped::from(&app).await;
    assert_eq!(after.get("belfry_sockets_open", &[]), 1.0);
    assert!(
        after.get("belfry_rooms", &[]) >= 1.0,
        "the church room lives"
    );
    assert!(
        after.get("belfry_fanout_deliveries_total", &[])
            > before.or_zero("belfry_fanout_deliveries_total", &[]),
        "the socket was written the message's events"
    );
    let attempts = |s: &Scraped| s.or_zero("belfry_send_attempts_total", &[TELNYX, ACCEPTED]);
    assert_eq!(attempts(&after) - attempts(&before), n as f64);
    let calls = |s: &Scraped| s.or_zero("belfry_carrier_call_duration_seconds", &[TELNYX]);
    assert_eq!(calls(&after) - calls(&before), n as f64);
    let sent = |s: &Scraped| {
        s.or_zero(
            "belfry_http_requests_total",
            &[SEND_ROUTE[0], SEND_ROUTE[1], ("status", "202")],
        )
    };
    assert_eq!(sent(&after) - sent(&before), 1.0);
    assert!(after.get("belfry_http_request_duration_seconds", &SEND_ROUTE) >= 1.0);
    // Paths with ids are counted under their route's template, never one series per id.
    assert!(
        after.get(
            "belfry_http_requests_total",
            &[("route", "/api/messages/:id"), ("status", "200")]
        ) >= 1.0
    );
    assert!(after.0.iter().all(|s| {
        s.labels
            .get("route")
            .is_none_or(|r| !r.contains(&id.to_string()))
    }));
    assert_eq!(after.get("belfry_outbox_depth", &[("state", "ready")]), 0.0);

    socket.close().await;
    let mut open = 1.0;
    for _ in 0..100 {
        open = Scraped::from(&app).await.get("belfry_sockets_open", &[]);
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0.0, "a closed socket is no longer counted");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_carrier_calls_and_unknown_paths_are_counted_by_kind() {
    use super::fake_telnyx::Reply;
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    app.telnyx.always(Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    });
    let id = app.send(&token, &app.grace.member_ids[..1]).await;
    app.wait_for_message(&token, id, |m| m["status"] == "failed")
        .await;
    for path in ["/no/such/thing/1", "/no/such/thing/2"] {
        let status = app.get(path, &token).await.status();
        assert_eq!(status, 404);
    }

    let scraped = Scraped::from(&app).await;
    assert_eq!(
        scraped.get(
            "belfry_send_attempts_total",
            &[TELNYX, ("outcome", "permanent")]
        ),
        1.0
    );
    assert_eq!(
        scraped.or_zero("belfry_send_attempts_total", &[TELNYX, ACCEPTED]),
        0.0
    );
    assert_eq!(
        scraped.get(
            "belfry_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        2.0,
        "unknown paths share one series"
    );
    // A permanent refusal gives the recipient up at once: one open dead letter.
    assert_eq!(scraped.get("belfry_dead_letters_open", &[]), 1.0);
}

/// `GET path` without a token, as if forwarded for `forwarded_for` when given.
async fn ask(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{path}", app.url));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_only_to_allowed_addresses() {
    let app = spawn_app_with(&[("BELFRY_METRICS_ALLOW", "10.0.0.0/8")]).await;
    let response = ask(&app, "/metrics", None).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    // A proxy that is not trusted cannot claim an allowed address.
    let response = ask(&app, "/metrics", Some("10.1.2.3")).await;
    assert_eq!(response.status(), 403);

    let app = spawn_app_with(&[
        ("BELFRY_METRICS_ALLOW", "10.0.0.0/8"),
        ("BELFRY_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let response = ask(&app, "/metrics", Some("10.1.2.3")).await;
    assert_eq!(response.status(), 200, "behind a trusted proxy");
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_while_the_database_and_tree_serve() {
    let app = spawn_app().await;
    let response = ask(&app, "/ready", None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    // The actor tree stopped (as it is on the way down): not ready, while `/health` still
    // says the process answers.
    app.state.system.shutdown().await;
    let response = ask(&app, "/ready", None).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    let health = ask(&app, "/health", None).await;
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_deliveries_are_counted_by_channel_and_status() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let delivered = [("channel", "in_app"), ("status", "delivered")];
    let skipped = [("channel", "in_app"), ("status", "skipped")];
    let read = [("channel", "in_app"), ("status", "read")];
    let off = app
        .patch_json(
            "/api/notifications/preferences",
            &admin,
            &serde_json::json!({"categories": {"announcement": {"in_app": false}}}),
        )
        .await;
    assert_eq!(off.status(), 200);
    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(&admin),
            &serde_json::json!({"audience": {"church": true}, "title": "Hi", "body": "All"}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let scraped = Scraped::from(&app).await;
    assert_eq!(scraped.get(NOTIFICATIONS, &delivered), 1.0, "the staff's");
    assert_eq!(scraped.get(NOTIFICATIONS, &skipped), 1.0, "the admin's own");
    assert_eq!(scraped.or_zero(NOTIFICATIONS, &read), 0.0);

    let inbox = app.get_json("/api/notifications", &staff).await;
    let id = inbox["notifications"][0]["id"].as_i64().unwrap();
    for _ in 0..2 {
        let marked = app
            .post_json(
                &format!("/api/notifications/{id}/read"),
                Some(&staff),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(marked.status(), 200);
    }
    let all = app
        .post_json(
            "/api/notifications/read-all",
            Some(&admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(all.status(), 200);
    let scraped = Scraped::from(&app).await;
    assert_eq!(
        scraped.get(NOTIFICATIONS, &read),
        2.0,
        "read once by the staff (twice asked), once by the admin's read-all"
    );
}

const NOTIFICATIONS: &str = "belfry_notification_deliveries_total";
