//! What the running server tells operators about itself: Prometheus metrics (this module), log
//! lines ([`logs`]), and each church's recent throughput for its dashboard ([`throughput`]).
//!
//! Each server owns its own recorder rather than installing one for the whole process, so two
//! servers in one process (the tests run many) never count into each other. What happens as it
//! happens (requests, socket deliveries, carrier calls) is counted where it happens, through
//! the handles below; what is a state (rooms, the breaker, the outbox, the pool) is read when
//! `/metrics` is scraped (`routes::metrics`). Every metric's name and help text is declared here.

pub mod logs;
pub mod throughput;

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use throughput::Throughput;

const METADATA: Metadata<'static> = Metadata::new("belfry", Level::INFO, None);

pub const HTTP_REQUESTS: &str = "belfry_http_requests_total";
pub const HTTP_DURATION: &str = "belfry_http_request_duration_seconds";
pub const SOCKETS_OPEN: &str = "belfry_sockets_open";
pub const FANOUT_DELIVERIES: &str = "belfry_fanout_deliveries_total";
pub const SEND_ATTEMPTS: &str = "belfry_send_attempts_total";
pub const CARRIER_DURATION: &str = "belfry_carrier_call_duration_seconds";
pub const ROOMS: &str = "belfry_rooms";
pub const ACTORS: &str = "belfry_actors";
pub const BREAKER_STATE: &str = "belfry_breaker_state";
pub const BREAKER_HELD: &str = "belfry_breaker_held_jobs";
pub const OUTBOX_DEPTH: &str = "belfry_outbox_depth";
pub const OUTBOX_OLDEST_DUE: &str = "belfry_outbox_oldest_due_seconds";
pub const DEAD_LETTERS_OPEN: &str = "belfry_dead_letters_open";
pub const DB_POOL: &str = "belfry_db_pool_connections";
pub const RATE_LIMIT_DENIALS: &str = "belfry_rate_limit_denials_total";
pub const RATE_LIMIT_KEYS: &str = "belfry_rate_limit_keys";
pub const NOTIFICATION_DELIVERIES: &str = "belfry_notification_deliveries_total";

/// Histogram buckets in seconds: from a cached answer (a millisecond) to a carrier timing out.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes: without it
/// they would pile up in memory between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// One server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    sockets_open: Gauge,
    fanout: Counter,
    throughput: Arc<Throughput>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        let sockets_open = recorder.register_gauge(&Key::from_static_name(SOCKETS_OPEN), &METADATA);
        let fanout =
            recorder.register_counter(&Key::from_static_name(FANOUT_DELIVERIES), &METADATA);
        Arc::new(Self {
            recorder,
            handle,
            sockets_open,
            fanout,
            throughput: Arc::new(Throughput::new(chrono::Utc::now())),
        })
    }

    /// Folds histogram samples into their buckets every few seconds until `shutdown` flips.
    /// Also keeps the throughput chart stepping.
    pub fn keep_up(self: &Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        self.throughput.keep_stepping(shutdown.clone());
        let metrics = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => metrics.handle.run_upkeep(),
                    _ = shutdown.changed() => return,
                }
            }
        });
    }

    pub fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    pub fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    pub fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    /// `n` notification deliveries of `channel` reached `status`.
    pub fn notification_deliveries(&self, channel: &'static str, status: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        self.counter(
            NOTIFICATION_DELIVERIES,
            vec![Label::new("channel", channel), Label::new("status", status)],
        )
        .increment(n);
    }

    /// Stored notifications' in-app deliveries: pushed ones `delivered`, the others `skipped`.
    pub fn notifications_stored(&self, announcements: &[belfry_actors::ports::Announcement]) {
        let pushed = announcements.iter().filter(|a| a.push).count() as u64;
        self.notification_deliveries("in_app", "delivered", pushed);
        self.notification_deliveries("in_app", "skipped", announcements.len() as u64 - pushed);
    }

    /// One answered request. `route` is the route's template (`/api/messages/:id`), never the
    /// concrete path, so the series stay few whatever clients ask for.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = Label::new("method", method.to_owned());
        let route = Label::new("route", route.to_owned());
        self.counter(
            HTTP_REQUESTS,
            vec![
                method.clone(),
                route.clone(),
                Label::new("status", status.to_string()),
            ],
        )
        .increment(1);
        self.histogram(HTTP_DURATION, vec![method, route])
            .record(took.as_secs_f64());
    }

    /// Counts an open socket until the returned guard is dropped.
    pub fn socket_opened(&self) -> OpenSocket {
        self.sockets_open.increment(1.0);
        OpenSocket(self.sockets_open.clone())
    }

    /// Counts events rooms wrote into sockets.
    pub fn fanout(&self) -> Counter {
        self.fanout.clone()
    }

    /// Each church's recent sends, deliveries and socket events, for the dashboard.
    pub fn throughput(&self) -> &Arc<Throughput> {
        &self.throughput
    }

    /// The text a Prometheus scraper reads.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// An open socket, counted in [`SOCKETS_OPEN`] while it lives.
pub struct OpenSocket(Gauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn describe(recorder: &PrometheusRecorder) {
    let counters = [
        (
            HTTP_REQUESTS,
            "HTTP requests answered, by method, route template and status.",
        ),
        (
            FANOUT_DELIVERIES,
            "Room events written into sockets (one per socket per event).",
        ),
        (
            SEND_ATTEMPTS,
            "Calls to the SMS carrier, by carrier and outcome (accepted, retryable, permanent, opted_out).",
        ),
        (
            RATE_LIMIT_DENIALS,
            "Requests refused by a rate limit since start, by policy.",
        ),
        (
            NOTIFICATION_DELIVERIES,
            "Notification deliveries that reached a status, by channel and status (in_app: delivered, skipped, read).",
        ),
    ];
    for (name, help) in counters {
        recorder.describe_counter(name.into(), None, help.into());
    }
    let gauges = [
        (SOCKETS_OPEN, "WebSockets open now."),
        (
            ROOMS,
            "Room actors alive now (church, user, admins and chat rooms).",
        ),
        (ACTORS, "Live actors in the supervision tree, by kind."),
        (
            BREAKER_STATE,
            "1 for the state the circuit breaker is in, 0 for the others.",
        ),
        (
            BREAKER_HELD,
            "Jobs the breaker holds until it lets them through.",
        ),
        (
            OUTBOX_DEPTH,
            "Recipients in the outbox, by state (ready: waiting to be sent; claimed: being sent).",
        ),
        (
            OUTBOX_OLDEST_DUE,
            "How long the oldest recipient that is due has waited to be sent (0 when none is).",
        ),
        (
            DEAD_LETTERS_OPEN,
            "Dead letters nobody has retried or discarded.",
        ),
        (
            DB_POOL,
            "Database connections of the main pool, by state (in_use, idle).",
        ),
        (
            RATE_LIMIT_KEYS,
            "Users, addresses and emails the limiter tracks now.",
        ),
    ];
    for (name, help) in gauges {
        recorder.describe_gauge(name.into(), None, help.into());
    }
    recorder.describe_histogram(
        HTTP_DURATION.into(),
        Some(Unit::Seconds),
        "Time from a request's arrival to its answer, by method and route template.".into(),
    );
    recorder.describe_histogram(
        CARRIER_DURATION.into(),
        Some(Unit::Seconds),
        "Time each call to the SMS carrier took, by carrier.".into(),
    );
}
