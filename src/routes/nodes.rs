//! `GET /api/admin/nodes` (operators): the Belfry processes sharing this database, each with
//! its last heartbeat, what it held then, and whether it counts as alive (its beat younger than
//! the lease, not stopped). Nodes silent for a day are left out.

use std::time::Duration;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::db::nodes::{self, NodeView};
use crate::error::{ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::http::registry::endpoint;
use crate::state::{AppState, with_state};

/// Nodes listed after their last beat.
const KEPT: Duration = Duration::from_secs(24 * 3600);

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "admin" / "nodes")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(list(state, user).await) })
}

/// The nodes sharing the database.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeList {
    /// The node that answered.
    this_node: String,
    /// A node whose heartbeat is older than this is not alive.
    lease_ms: u64,
    nodes: Vec<NodeView>,
}

#[utoipa::path(get, path = "/api/admin/nodes", tag = "admin", operation_id = "listNodes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The nodes, newest start first", body = NodeList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an operator", body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser) -> ApiResult {
    user.require_operator()?;
    let lease = state.node.lease;
    let body = NodeList {
        this_node: state.node.id.to_string(),
        lease_ms: lease.as_millis() as u64,
        nodes: nodes::list(&state.pool, lease, KEPT).await?,
    };
    Ok(json_reply(StatusCode::OK, &body))
}
