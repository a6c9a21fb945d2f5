//! `GET /metrics`: counters in the Prometheus text format, for a scraper on the operators'
//! network. For now the rate limits' refusals and the limiter's size; it holds counts only,
//! nothing about who.

use std::fmt::Write;

use warp::http::header::{CONTENT_TYPE, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::http::registry::endpoint;
use crate::state::AppState;
use crate::state::with_state;

pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "metrics")
        .and(with_state(state))
        .map(metrics)
}

#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format: \
        `belfry_rate_limit_denials_total{policy}` (counter), `belfry_rate_limit_keys` (gauge)",
        content_type = "text/plain")))]
fn metrics(state: AppState) -> Response {
    let mut text = String::new();
    text.push_str(
        "# HELP belfry_rate_limit_denials_total Requests refused by a rate limit since start.\n\
         # TYPE belfry_rate_limit_denials_total counter\n",
    );
    for (policy, count) in state.limits.denials().snapshot() {
        let _ = writeln!(
            text,
            "belfry_rate_limit_denials_total{{policy=\"{policy}\"}} {count}"
        );
    }
    let _ = write!(
        text,
        "# HELP belfry_rate_limit_keys Users, addresses and emails the limiter tracks now.\n\
         # TYPE belfry_rate_limit_keys gauge\n\
         belfry_rate_limit_keys {}\n",
        state.limits.keys_tracked()
    );
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
