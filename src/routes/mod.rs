//! HTTP routes. Each handler parses its input, calls the database or sends a message into the
//! actor tree, and answers; none keeps state of its own.

mod admin;
mod auth;
pub mod body;
mod caching;
pub mod chat;
mod compression;
mod dlq;
pub mod fields;
mod history;
mod limits;
mod members;
mod messages;
mod metrics;
mod openapi;
mod presence;
pub mod registry;
mod webhooks;

use crate::routes::registry::endpoint;
use serde::de::DeserializeOwned;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use belfry_actors::limiter::Decision;

pub fn all(state: AppState) -> BoxedFilter<(Response,)> {
    let limited = crate::limits::http::api(state.clone());
    let health = endpoint!(GET, "health").map(health);
    let routes = health
        .or(auth::routes(state.clone()))
        .unify()
        .or(members::routes(state.clone()))
        .unify()
        .or(chat::routes(state.clone()))
        .unify()
        .or(presence::routes(state.clone()))
        .unify()
        .or(history::routes(state.clone()))
        .unify()
        .or(messages::routes(state.clone()))
        .unify()
        .or(admin::routes(state.clone()))
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
        .unify();
    let answered = limited
        .and(routes)
        .map(|decision: Option<Decision>, response| {
            crate::limits::http::with_headers(response, decision.as_ref())
        });
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

/// The process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "The server is up", body = Health)))]
fn health() -> Response {
    warp::reply::json(&Health { status: "ok" }).into_response()
}

pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// A JSON body of the route's type, within the configured size (see [`body`]).
pub fn json_body<T: DeserializeOwned + Send>(
    state: &AppState,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone + use<T> {
    body::json::<T>(state.max_body)
}

pub fn json_reply<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
