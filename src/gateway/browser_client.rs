//! `GET /client/belfry.js`: the browser client for this protocol, built into the binary so that
//! the client a page loads always matches the server it talks to.

use crate::http::registry::endpoint;
use warp::http::{HeaderValue, header};
use warp::reply::Response;
use warp::{Filter, Rejection};

const SOURCE: &str = include_str!("belfry.js");

pub fn route() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "client" / "belfry.js").map(script)
}

#[utoipa::path(get, path = "/client/belfry.js", tag = "sockets", operation_id = "browserClient",
    responses((status = 200, description = "The browser client, an ES module", content_type = "text/javascript")))]
fn script() -> Response {
    let mut response = Response::new(SOURCE.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    // A public library: pages on other origins (the church's site) may import it.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
