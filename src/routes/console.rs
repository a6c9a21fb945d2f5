//! The web console: `GET /` and its files under `/console/`, built into the binary (no build
//! step, no CDN). The page may load nothing from another origin (`Content-Security-Policy`),
//! and every file gets a strong `ETag` and compression from `routes::caching`, like the API.

use warp::http::StatusCode;
use warp::http::header::{self, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{ApiError, ErrorBody, into_response};
use crate::http::registry::endpoint;

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Scripts, styles, sockets and API calls from this origin only; no inline script or style
/// (the console sets styles through the CSSOM, which this allows), no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("../console/index.html");

/// The console's files: name under `/console/`, type, contents.
const FILES: &[(&str, &str, &str)] = &[
    ("activity.js", JS, include_str!("../console/activity.js")),
    ("app.css", CSS, include_str!("../console/app.css")),
    ("analytics.js", JS, include_str!("../console/analytics.js")),
    ("app.js", JS, include_str!("../console/app.js")),
    ("chat.js", JS, include_str!("../console/chat.js")),
    (
        "conversations.js",
        JS,
        include_str!("../console/conversations.js"),
    ),
    ("dashboard.js", JS, include_str!("../console/dashboard.js")),
    ("dom.js", JS, include_str!("../console/dom.js")),
    ("nodes.js", JS, include_str!("../console/nodes.js")),
    ("groups.js", JS, include_str!("../console/groups.js")),
    ("live.js", JS, include_str!("../console/live.js")),
    ("members.js", JS, include_str!("../console/members.js")),
    ("messages.js", JS, include_str!("../console/messages.js")),
    (
        "notification_badge.js",
        JS,
        include_str!("../console/notification_badge.js"),
    ),
    (
        "notification_preferences.js",
        JS,
        include_str!("../console/notification_preferences.js"),
    ),
    (
        "notification_stats.js",
        JS,
        include_str!("../console/notification_stats.js"),
    ),
    (
        "notification_templates.js",
        JS,
        include_str!("../console/notification_templates.js"),
    ),
    (
        "notifications.js",
        JS,
        include_str!("../console/notifications.js"),
    ),
    (
        "quiet_hours.js",
        JS,
        include_str!("../console/quiet_hours.js"),
    ),
    (
        "sandbox_mail.js",
        JS,
        include_str!("../console/sandbox_mail.js"),
    ),
    ("segments.js", JS, include_str!("../console/segments.js")),
    ("session.js", JS, include_str!("../console/session.js")),
    ("settings.js", JS, include_str!("../console/settings.js")),
    ("staff.js", JS, include_str!("../console/staff.js")),
];

pub fn routes() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let index = endpoint!(GET, /).map(index);
    let file = endpoint!(GET, "console" / String).map(file);
    index.or(file).unify()
}

#[utoipa::path(get, path = "/", tag = "console", operation_id = "console",
    responses((status = 200, description = "The web console's page", content_type = "text/html")))]
fn index() -> Response {
    asset(HTML, INDEX)
}

#[utoipa::path(get, path = "/console/{file}", tag = "console", operation_id = "consoleFile",
    params(("file" = String, Path, description = "One of the console's scripts or styles")),
    responses(
        (status = 200, description = "The file", content_type = "text/javascript"),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
fn file(name: String) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => asset(content_type, body),
        None => into_response(Err(ApiError::not_found("no such console file"))),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = warp::reply::with_status(body, StatusCode::OK).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_console_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/console");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                name == "index.html" || FILES.iter().any(|(file, _, _)| *file == name),
                "src/console/{name} is not in FILES"
            );
        }
    }
}
