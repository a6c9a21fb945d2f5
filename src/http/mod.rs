//! HTTP plumbing that the routes and the WebSocket gateway share: how a route is declared (and
//! recorded for the OpenAPI document), and how a request body is read.

pub mod body;
pub mod cors;
pub mod registry;
pub mod schema;

use serde::de::DeserializeOwned;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::state::AppState;

/// Refuses a query string that carries the NUL character (`%00`) with `400 invalid_text`,
/// before any route reads it: PostgreSQL cannot store or compare it in text.
pub fn no_nul_in_query() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .and_then(|query: String| async move {
            // `%00` has no letters: no case to fold.
            if query.contains("%00") {
                Err(warp::reject::custom(body::nul_refused()))
            } else {
                Ok(())
            }
        })
        .untuple_one()
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
