//! `GET /metrics`: the server's metrics in the Prometheus text format, for a scraper on the
//! operators' network (`BELFRY_METRICS_ALLOW`, loopback unless set). Counts only, nothing about
//! who. Counters and histograms are kept as things happen (see `telemetry`); the states below
//! are read here, when a scraper asks.

use std::collections::BTreeMap;
use std::net::IpAddr;

use belfry_actors::delivery::breaker::BreakerState;
use belfry_actors::stats::ActorNode;
use metrics::Label;
use warp::http::header::{CONTENT_TYPE, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::state::AppState;
use crate::state::with_state;
use crate::telemetry::{
    ACTORS, BREAKER_HELD, BREAKER_STATE, DB_POOL, DEAD_LETTERS_OPEN, OUTBOX_DEPTH,
    OUTBOX_OLDEST_DUE, RATE_LIMIT_DENIALS, RATE_LIMIT_KEYS, ROOMS,
};

pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "metrics")
        .and(crate::limits::http::client_ip(&state.limits))
        .and(with_state(state))
        .then(|client, state| async move { into_response(metrics(client, state).await) })
}

#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text format. Counters: \
            `belfry_http_requests_total{method,route,status}`, \
            `belfry_fanout_deliveries_total`, `belfry_send_attempts_total{carrier,outcome}`, \
            `belfry_rate_limit_denials_total{policy}`. Histograms: \
            `belfry_http_request_duration_seconds{method,route}`, \
            `belfry_carrier_call_duration_seconds{carrier}`. Gauges: `belfry_sockets_open`, \
            `belfry_rooms`, `belfry_actors{kind}`, `belfry_breaker_state{state}`, \
            `belfry_breaker_held_jobs`, `belfry_outbox_depth{state}`, \
            `belfry_outbox_oldest_due_seconds`, `belfry_dead_letters_open`, \
            `belfry_db_pool_connections{state}`, `belfry_rate_limit_keys`",
            content_type = "text/plain"),
        (status = 403, description = "The address is not in `BELFRY_METRICS_ALLOW`", body = ErrorBody),
    ))]
async fn metrics(client: Option<IpAddr>, state: AppState) -> ApiResult {
    let allowed = client.is_some_and(|ip| state.metrics_allow.iter().any(|net| net.contains(&ip)));
    if !allowed {
        return Err(ApiError::forbidden(
            "metrics are served only to the addresses in BELFRY_METRICS_ALLOW",
        ));
    }
    sample(&state).await;
    let mut response = Response::new(state.metrics.render().into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Reads the states a scrape reports. A part that cannot be read now (the breaker
/// restarting, the database away) keeps its last value rather than failing the scrape.
async fn sample(state: &AppState) {
    let metrics = &state.metrics;
    let gauge = |name: &'static str, labels: Vec<Label>, value: f64| {
        metrics.gauge(name, labels).set(value);
    };

    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    count_kinds(&state.system.tree(), &mut kinds);
    gauge(
        ROOMS,
        vec![],
        kinds.get("room").copied().unwrap_or(0) as f64,
    );
    for (kind, count) in kinds {
        gauge(ACTORS, vec![Label::new("kind", kind)], count as f64);
    }

    if let Ok(breaker) = state.system.directory().breaker_snapshot().await {
        for each in BreakerState::ALL {
            let on = if each == breaker.state { 1.0 } else { 0.0 };
            gauge(
                BREAKER_STATE,
                vec![Label::from_static_parts("state", each.name())],
                on,
            );
        }
        gauge(BREAKER_HELD, vec![], breaker.held as f64);
    }

    if let Ok(depth) = db::outbox::depth(&state.pool, state.clock.now()).await {
        for (name, count) in [
            ("ready", depth.ready),
            ("claimed", depth.claimed),
            ("attempting", depth.attempting),
        ] {
            gauge(
                OUTBOX_DEPTH,
                vec![Label::from_static_parts("state", name)],
                count as f64,
            );
        }
        gauge(OUTBOX_OLDEST_DUE, vec![], depth.oldest_due_seconds);
    }
    if let Ok(open) = db::dead_letters::open_count(&state.pool).await {
        gauge(DEAD_LETTERS_OPEN, vec![], open as f64);
    }

    let pool = state.pool.status();
    let idle = pool.available;
    gauge(
        DB_POOL,
        vec![Label::from_static_parts("state", "in_use")],
        pool.size.saturating_sub(idle) as f64,
    );
    gauge(
        DB_POOL,
        vec![Label::from_static_parts("state", "idle")],
        idle as f64,
    );

    for (policy, count) in state.limits.denials().snapshot() {
        metrics
            .counter(
                RATE_LIMIT_DENIALS,
                vec![Label::from_static_parts("policy", policy)],
            )
            .absolute(count);
    }
    gauge(RATE_LIMIT_KEYS, vec![], state.limits.keys_tracked() as f64);
}

fn count_kinds(node: &ActorNode, kinds: &mut BTreeMap<String, u64>) {
    *kinds.entry(node.kind.clone()).or_default() += 1;
    for child in &node.children {
        count_kinds(child, kinds);
    }
}
