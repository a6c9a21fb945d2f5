//! Cache policy and conditional GETs for the API's JSON answers.
//!
//! Every `GET` answered `200` with JSON (or a console file) gets a strong `ETag` made from its bytes; a request
//! whose `If-None-Match` names it gets `304` with no body, so a client that polls a list
//! downloads it only when it changed. `Cache-Control` says what may be kept: nothing for
//! logins and admin views (tokens, live operational state); for lists a private copy good for
//! a few seconds, then revalidated (a page that draws several views of the same list asks
//! once, and live changes reach it over its socket meanwhile); for the rest, one revalidated
//! before each use (a message's delivery figures move by the second). Bodies are compressed here too (see [`compression`]),
//! since this is where they are read whole.

use std::hash::{Hash, Hasher};

use http_body_util::BodyExt;
use warp::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderValue, VARY,
};
use warp::http::{Method, StatusCode};
use warp::reply::Response;

use super::compression;

/// What of the request decides how its answer is cached and encoded.
pub struct Request {
    pub method: Method,
    pub path: warp::path::FullPath,
    pub if_none_match: Option<String>,
    pub accept_encoding: Option<String>,
}

/// The answers that get an `ETag`: the API's JSON and the console's files.
const TAGGED_TYPES: [&str; 4] = [
    "application/json",
    "text/html",
    "text/css",
    "text/javascript",
];

/// How long a list may be used before it is revalidated.
pub const LIST_CACHE_CONTROL: &str = "private, max-age=5, must-revalidate";

/// `Cache-Control` for an API path; `None` leaves the answer as it is.
pub fn cache_control(path: &str) -> Option<&'static str> {
    if path.starts_with("/api/auth") || path.starts_with("/api/admin") {
        Some("no-store")
    } else if is_list(path) {
        Some(LIST_CACHE_CONTROL)
    } else if path.starts_with("/api/") {
        Some("private, no-cache")
    } else if path == "/" || path.starts_with("/console/") {
        // The console: revalidated on every use, so an upgraded server's console is picked
        // up at once and an unchanged file costs a 304.
        Some("no-cache")
    } else {
        None
    }
}

/// The routes that answer a page of a collection.
fn is_list(path: &str) -> bool {
    const LISTS: [&str; 4] = [
        "/api/members",
        "/api/messages/history",
        "/api/chat/rooms",
        "/api/presence",
    ];
    LISTS.contains(&path)
        || path
            .strip_prefix("/api/chat/")
            .and_then(|rest| rest.strip_suffix("/messages"))
            .is_some_and(|room| !room.is_empty() && !room.contains('/'))
}

/// A strong validator of these bytes.
fn etag_of(body: &[u8]) -> String {
    // SipHash with fixed keys: the same bytes give the same tag in every process of a build.
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}{:08x}\"", hasher.finish(), body.len())
}

/// Whether `If-None-Match` names `etag` (or is `*`). Weak comparison, as RFC 9110 asks for
/// `If-None-Match`.
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

fn content_type(response: &Response) -> &str {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub async fn apply(request: Request, mut response: Response) -> Response {
    let Some(policy) = cache_control(request.path.as_str()) else {
        return response;
    };
    if !response.headers().contains_key(CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    // The answer depends on who asks.
    response
        .headers_mut()
        .append(VARY, HeaderValue::from_static("Authorization"));
    let tagged = request.method == Method::GET
        && response.status() == StatusCode::OK
        && TAGGED_TYPES
            .iter()
            .any(|t| content_type(&response).starts_with(t));
    let compressible = compression::compressible(content_type(&response))
        && !response.headers().contains_key(CONTENT_ENCODING);
    if !tagged && !compressible {
        return response;
    }
    if compressible {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            return Response::from_parts(parts, Default::default());
        }
    };
    let encoding = compressible
        .then(|| compression::negotiate(request.accept_encoding.as_deref()))
        .flatten()
        .filter(|_| bytes.len() >= compression::MIN_BYTES);
    if tagged {
        let mut etag = etag_of(&bytes);
        if let Some(encoding) = encoding {
            etag.insert_str(etag.len() - 1, encoding.tag_suffix());
        }
        if let Ok(value) = HeaderValue::from_str(&etag) {
            parts.headers.insert(ETAG, value);
        }
        if request
            .if_none_match
            .is_some_and(|inm| matches(&inm, &etag))
        {
            parts.status = StatusCode::NOT_MODIFIED;
            parts.headers.remove(CONTENT_TYPE);
            parts.headers.remove(CONTENT_LENGTH);
            return Response::from_parts(parts, Default::default());
        }
    }
    if let Some(encoding) = encoding
        && let Ok(compressed) = compression::compress(&bytes, encoding)
    {
        parts.headers.insert(CONTENT_ENCODING, encoding.header());
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, compressed.into());
    }
    Response::from_parts(parts, bytes.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_bytes_and_if_none_match_compares_weakly() {
        let a = etag_of(b"{\"members\":[]}");
        assert_eq!(a, etag_of(b"{\"members\":[]}"));
        assert_ne!(a, etag_of(b"{\"members\":[1]}"));
        assert!(matches(&a, &a));
        assert!(matches(&format!("\"x\", W/{a}"), &a));
        assert!(matches("*", &a));
        assert!(!matches("\"other\"", &a));
    }

    #[test]
    fn logins_and_admin_views_are_never_stored() {
        assert_eq!(cache_control("/api/auth/login"), Some("no-store"));
        assert_eq!(cache_control("/api/admin/limits"), Some("no-store"));
        assert_eq!(cache_control("/api/members"), Some(LIST_CACHE_CONTROL));
        assert_eq!(
            cache_control("/api/chat/church:1/messages"),
            Some(LIST_CACHE_CONTROL)
        );
        assert_eq!(cache_control("/api/messages/12"), Some("private, no-cache"));
        assert_eq!(cache_control("/health"), None);
        assert_eq!(cache_control("/ws"), None);
    }
}
