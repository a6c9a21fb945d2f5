//! `GET /api/openapi.json`: the OpenAPI 3 document of every route, generated from the handlers'
//! annotations and the request and response types (utoipa), so it changes with the code.
//! A test compares it with the routes the server registers ([`super::registry`]).

use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Ref, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Response as DocumentedResponse, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use warp::http::header::{CONTENT_TYPE, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{
    account, activity, admin, admin_notifications, analytics, auth, chat, church_settings,
    conversations, dlq, groups, limits, members, message_history, message_preview, messages,
    metrics, nodes, notification_preferences, notification_stats, notification_templates,
    notifications, presence, sandbox_mail, sending, staff, webhooks,
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
        super::health::health,
        super::health::ready,
        super::console::index,
        super::console::file,
        openapi_document,
        auth::limited_login,
        account::me,
        account::rename,
        account::logout,
        account::refresh,
        account::change_password,
        members::create,
        members::import,
        members::list,
        members::update,
        members::remove,
        groups::create,
        groups::list,
        groups::show,
        groups::rename,
        groups::delete,
        groups::add_members,
        groups::remove_member,
        messages::send,
        messages::show,
        messages::cancel,
        message_preview::preview,
        message_history::list,
        message_history::page,
        chat::create,
        chat::list,
        chat::history,
        chat::people,
        conversations::list,
        conversations::thread,
        conversations::reply,
        conversations::read,
        presence::online,
        notifications::list,
        notifications::counts,
        notifications::read,
        notifications::unread,
        notifications::archive,
        notifications::read_all,
        notifications::seen,
        notification_preferences::get,
        notification_preferences::change,
        admin_notifications::send,
        admin_notifications::show,
        sandbox_mail::kept,
        nodes::list,
        notification_stats::stats,
        notification_templates::list,
        notification_templates::create,
        notification_templates::show,
        notification_templates::update,
        notification_templates::preview,
        admin::actors,
        admin::breaker,
        admin::set_breaker,
        activity::rooms,
        activity::throughput,
        activity::churches,
        activity::unrouted,
        analytics::delivery,
        church_settings::get,
        church_settings::update,
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
    modifiers(&BearerAuth, &RateLimited, &ChurchScoped),
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

/// Every operation can answer `429`: requests with a token count against the caller's limit,
/// sign-ins and socket upgrades against their own (see docs/operations.md). Declared here
/// once rather than on each handler.
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0));
        let response = error_response("Over a rate limit; try again after `Retry-After` seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new().schema(Some(seconds)).build(),
            )
            .build();
        add_response(openapi, "429", &response, |_| true);
    }
}

/// The operations of these tags act on the caller's church: an operator, who belongs to none,
/// is answered `403` there.
struct ChurchScoped;

const CHURCH_TAGS: [&str; 5] = ["members", "groups", "messages", "chat", "conversations"];

impl Modify for ChurchScoped {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response =
            error_response("The account belongs to no church (a platform operator)").build();
        add_response(openapi, "403", &response, |operation| {
            operation
                .tags
                .iter()
                .flatten()
                .any(|tag| CHURCH_TAGS.contains(&tag.as_str()))
        });
    }
}

/// A response with the error shape.
fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

/// Adds `response` as `status` to each operation `applies` to that does not describe it itself.
fn add_response(
    openapi: &mut utoipa::openapi::OpenApi,
    status: &str,
    response: &DocumentedResponse,
    applies: impl Fn(&Operation) -> bool,
) {
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            if applies(operation) {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
}

/// Each operation of a path.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
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
