//! HTTP routes. Each handler parses its input, calls the database or sends a message into the
//! actor tree, and answers; none keeps state of its own.

mod admin;
mod auth;
mod caching;
pub mod chat;
mod compression;
mod dlq;
mod history;
mod limits;
mod members;
mod messages;
mod presence;
mod webhooks;

use serde::de::DeserializeOwned;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::error::ApiError;
use belfry_actors::limiter::Decision;

/// Largest JSON body accepted by the API.
pub const MAX_JSON_BODY: u64 = 256 * 1024;

pub fn all(state: AppState) -> BoxedFilter<(Response,)> {
    let limited = crate::limits::http::api(state.clone());
    let health = warp::path!("health")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})).into_response());
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
        .or(crate::gateway::route(state))
        .unify()
        .or(crate::gateway::client_route())
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

pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// A JSON body: `application/json`, at most [`MAX_JSON_BODY`] bytes, parsed into `T` with a
/// 400 naming what is wrong.
pub fn json_body<T: DeserializeOwned + Send>()
-> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and(warp::body::content_length_limit(MAX_JSON_BODY))
        .and(warp::body::bytes())
        .and_then(
            |content_type: Option<String>, body: bytes::Bytes| async move {
                let is_json = content_type.as_deref().is_some_and(|ct| {
                    ct.trim()
                        .to_ascii_lowercase()
                        .starts_with("application/json")
                });
                if !is_json {
                    return Err(warp::reject::custom(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "send the body as application/json",
                    )));
                }
                serde_json::from_slice::<T>(&body).map_err(|e| {
                    warp::reject::custom(ApiError::bad_request("invalid_json", e.to_string()))
                })
            },
        )
}

pub fn json_reply<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
