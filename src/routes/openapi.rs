//! `GET /api/openapi.json`: the OpenAPI 3 document of every route, generated from the handlers'
//! annotations and the request and response types (utoipa), so it changes with the code.
//! A test compares it with the routes the server registers ([`super::registry`]).

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use warp::http::header::{CONTENT_TYPE, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{
    account, admin, auth, chat, dlq, limits, members, message_history, messages, metrics, presence,
    sending, staff, webhooks,
};
use crate::gateway;
use crate::http::registry::endpoint;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Belfry",
        description = "Church staff send SMS through Telnyx, watch delivery live, and chat. \
            Every error answers `{\"error\": {\"code\", \"message\", \"details\"?}}`. \
            Authenticated answers carry `RateLimit-Policy` and `RateLimit`; a 429 also \
            `Retry-After`. JSON GETs carry a strong `ETag` and answer 304 to `If-None-Match`; \
            bodies of 1 KiB or more are compressed (gzip, brotli) as `Accept-Encoding` allows."
    ),
    paths(
        super::health,
        openapi_document,
        auth::limited_login,
        account::logout,
        account::refresh,
        account::change_password,
        members::create,
        members::list,
        members::update,
        members::remove,
        messages::send,
        messages::show,
        message_history::page,
        chat::create,
        chat::list,
        chat::history,
        presence::online,
        admin::actors,
        admin::breaker,
        admin::set_breaker,
        sending::get,
        sending::set,
        staff::list,
        staff::create,
        staff::update,
        staff::disable,
        limits::limits,
        dlq::list,
        dlq::retry_one,
        dlq::retry_all,
        dlq::discard,
        webhooks::receive,
        gateway::handshake,
        gateway::browser_client::script,
        metrics::metrics,
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

/// The `bearer` scheme the operations name: the JWT from `POST /api/auth/login`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document, built once per process.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", operation_id = "openapi",
    responses((status = 200, description = "This document", content_type = "application/json")))]
fn openapi_document() -> Response {
    let mut response = Response::new(document().into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub fn route() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "openapi.json").map(openapi_document)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_has_a_unique_id() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        let mut ids = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                ids.push(operation["operationId"].as_str().unwrap().to_owned());
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "{ids:?}");
    }
}
