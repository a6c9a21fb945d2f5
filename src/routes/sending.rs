//! `/api/admin/sending`: a church's admins pause their own church's sending (a wrong list, a
//! message that should not go out yet) without touching any other church. While paused, sends
//! are still accepted and wait; no carrier call starts for the church; on resume what waited
//! goes out in order. Operators do the same for any church named with `?churchId=`.
//!
//! The pause is stored on the church (it survives a restart) and held in the tree's church
//! holds, which the outbox and every sender consult before each carrier call.

use belfry_actors::ports::Audience;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use belfry_actors::Hold;
use belfry_actors::protocol::{RoomEvent, church_admins_room, timestamp, timestamp_of};

use super::church_query::ChurchQuery;
use crate::auth::{AuthUser, bearer};
use crate::db::churches::{self, Sending};
use crate::domain::Controls;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

/// The longest reason an admin may give.
pub const MAX_REASON_LEN: usize = 500;
const REASON_CONTROLS: Controls = Controls::TabsAndNewlines;

fn reason_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::optional_text(MAX_REASON_LEN, REASON_CONTROLS))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSending {
    /// `true` holds the church's sends; `false` lets them go, in order.
    paused: bool,
    /// Why (shown to the church's other admins): up to 500 characters, no control characters
    /// other than newlines and tabs.
    #[schema(schema_with = reason_schema)]
    reason: Option<String>,
}

/// A church's sending as its admins see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendingState {
    church_id: i64,
    paused: bool,
    reason: Option<String>,
    paused_at: Option<String>,
    /// The user who paused it.
    paused_by: Option<i64>,
    /// Recipients accepted and not yet handed to the carrier.
    waiting: i64,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone())
        .and(bearer(state.auth.clone()))
        .and(warp::query::<ChurchQuery>());
    let get = endpoint!(GET, "api" / "admin" / "sending")
        .and(admin.clone())
        .then(|state, user, q| async move { into_response(get(state, user, q).await) });
    let set = endpoint!(POST, "api" / "admin" / "sending")
        .and(admin)
        .and(json_body::<SetSending>(&state))
        .then(|state, user, q, req| async move { into_response(set(state, user, q, req).await) });
    get.or(set).unify()
}

fn parse_reason(reason: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(reason) = reason else {
        return Ok(None);
    };
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_LEN || REASON_CONTROLS.refuses_any(reason) {
        return Err(ApiError::bad_request(
            "invalid_reason",
            format!(
                "reason must be at most {MAX_REASON_LEN} characters without control characters"
            ),
        ));
    }
    Ok((!reason.is_empty()).then(|| reason.to_owned()))
}

async fn answer(state: &AppState, church: i64, sending: Sending) -> ApiResult {
    let waiting = churches::waiting_to_send(&state.pool, church).await?;
    let body = SendingState {
        church_id: church,
        paused: sending.paused_at.is_some(),
        reason: sending.reason,
        paused_at: sending.paused_at.map(timestamp_of),
        paused_by: sending.by,
        waiting,
    };
    Ok(json_reply(StatusCode::OK, &body))
}

#[utoipa::path(get, path = "/api/admin/sending", tag = "admin", operation_id = "getSending",
    security(("bearer" = [])),
    params(ChurchQuery),
    responses(
        (status = 200, description = "Whether the church's sending is paused, why, and how many recipients wait", body = SendingState),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No such church", body = ErrorBody),
    ))]
async fn get(state: AppState, user: AuthUser, q: ChurchQuery) -> ApiResult {
    let church = q.admin_church(&user)?;
    let sending = churches::sending(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    answer(&state, church, sending).await
}

#[utoipa::path(post, path = "/api/admin/sending", tag = "admin", operation_id = "setSending",
    security(("bearer" = [])),
    params(ChurchQuery),
    request_body = SetSending,
    responses(
        (status = 200, description = "The church's sending after the change; the church's \
            admins get `sending:paused` or `sending:resumed` on their sockets", body = SendingState),
        (status = 400, description = "A bad reason", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No such church", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn set(state: AppState, user: AuthUser, q: ChurchQuery, req: SetSending) -> ApiResult {
    let church = q.admin_church(&user)?;
    let reason = parse_reason(req.reason)?;
    let sending = churches::set_sending(
        &state.pool,
        church,
        req.paused,
        reason.as_deref(),
        user.user_id,
    )
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    // Stored first, so a restart keeps the pause; then held in the tree, which every carrier
    // call consults.
    let directory = state.system.directory();
    if directory.set_hold(Hold::Paused, church, req.paused) {
        let event = if req.paused {
            RoomEvent::SendingPaused {
                church_id: church,
                reason: reason.clone(),
                by: user.user_id,
                timestamp: timestamp(),
            }
        } else {
            RoomEvent::SendingResumed {
                church_id: church,
                by: user.user_id,
                timestamp: timestamp(),
            }
        };
        directory.publish(church_admins_room(church), event);
        let by_name = crate::db::users::find(&state.pool, user.user_id)
            .await?
            .map_or_else(|| "An admin".to_owned(), |row| row.name);
        directory.notify(
            Audience::ChurchAdmins(church),
            crate::notices::sending_changed(
                church,
                req.paused,
                &by_name,
                user.user_id,
                reason.as_deref(),
            ),
        );
        tracing::warn!(
            by = user.user_id,
            church,
            paused = req.paused,
            "church sending changed"
        );
    }
    answer(&state, church, sending).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(parse_reason(None).unwrap(), None);
        assert_eq!(parse_reason(Some("  ".into())).unwrap(), None);
        assert_eq!(
            parse_reason(Some(" wrong list\n".into()))
                .unwrap()
                .as_deref(),
            Some("wrong list")
        );
        assert!(parse_reason(Some("a\nb\tc".into())).is_ok());
        assert!(parse_reason(Some("x".repeat(MAX_REASON_LEN))).is_ok());
        assert!(parse_reason(Some("x".repeat(MAX_REASON_LEN + 1))).is_err());
        assert!(parse_reason(Some("bell\u{7}".into())).is_err());
    }
}
