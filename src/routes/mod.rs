//! HTTP routes. Each handler parses its input, calls the database or sends a message into the
//! actor tree, and answers; none keeps state of its own.

mod account;
mod activity;
mod admin;
mod admin_notifications;
mod analytics;
mod auth;
mod caching;
pub mod chat;
mod church_query;
mod church_settings;
mod church_sight;
mod compression;
mod console;
mod conversations;
mod dlq;
pub mod fields;
mod groups;
mod health;
mod limits;
mod members;
mod message_history;
mod message_preview;
mod messages;
mod metrics;
mod nodes;
mod notification_audience;
mod notification_preferences;
mod notification_stats;
mod notification_templates;
mod notifications;
mod openapi;
mod outgoing;
mod paging;
mod presence;
mod sandbox_mail;
mod send_request;
mod sending;
mod staff;
mod webhooks;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::state::AppState;
use belfry_actors::limiter::Decision;

pub fn all(state: AppState) -> BoxedFilter<(Response,)> {
    let limited = crate::limits::http::api(state.limits.clone(), state.auth.keys.clone());
    // Two boxed halves: one chain of every route is a type deep enough to exceed the
    // compiler's recursion limit in release builds.
    let people = health::routes(state.clone())
        .or(auth::routes(state.clone()))
        .unify()
        .or(account::routes(state.clone()))
        .unify()
        .or(members::routes(state.clone()))
        .unify()
        .or(groups::routes(state.clone()))
        .unify()
        .or(chat::routes(state.clone()))
        .unify()
        .or(conversations::routes(state.clone()))
        .unify()
        .or(presence::routes(state.clone()))
        .unify()
        .or(message_history::routes(state.clone()))
        .unify()
        .or(messages::routes(state.clone()))
        .unify()
        .or(message_preview::route(state.clone()))
        .unify()
        .or(notifications::routes(state.clone()))
        .unify()
        .or(notification_preferences::routes(state.clone()))
        .unify()
        .or(console::routes())
        .unify()
        .boxed();
    let operations = admin::routes(state.clone())
        .or(admin_notifications::routes(state.clone()))
        .unify()
        .or(sandbox_mail::routes(state.clone()))
        .unify()
        .or(nodes::routes(state.clone()))
        .unify()
        .or(notification_stats::routes(state.clone()))
        .unify()
        .or(notification_templates::routes(state.clone()))
        .unify()
        .or(activity::routes(state.clone()))
        .unify()
        .or(analytics::routes(state.clone()))
        .unify()
        .or(church_settings::routes(state.clone()))
        .unify()
        .or(sending::routes(state.clone()))
        .unify()
        .or(staff::routes(state.clone()))
        .unify()
        .or(limits::routes(state.clone()))
        .unify()
        .or(dlq::routes(state.clone()))
        .unify()
        .or(webhooks::routes(state.clone()))
        .unify()
        .or(crate::gateway::route(state.clone()))
        .unify()
        .or(crate::gateway::client_route())
        .unify()
        .or(openapi::route())
        .unify()
        .or(metrics::route(state))
        .unify()
        .boxed();
    let routes = people.or(operations).unify();
    let answered = crate::http::no_nul_in_query().and(limited).and(routes).map(
        |decision: Option<Decision>, response| {
            crate::limits::http::with_headers(response, decision.as_ref())
        },
    );
    warp::method()
        .and(warp::path::full())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(answered)
        .then(|method, path, if_none_match, accept_encoding, response| {
            let request = caching::Request {
                method,
                path,
                if_none_match,
                accept_encoding,
            };
            caching::apply(request, response)
        })
        .boxed()
}

/// What a connection in the server's reserve may still ask for when it is at its connection
/// limit: whether the process is up, signing in, and the admin views and controls.
pub fn is_essential(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/ready" | "/metrics" | "/api/auth/login" | "/api/auth/refresh"
    ) || path.starts_with("/api/admin/")
}
