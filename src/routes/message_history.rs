//! `GET /api/messages/history`: the caller's church's messages, newest first, by cursor, with
//! filters by status and date.

use crate::http::registry::endpoint;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::fields::{self, FieldNames, Fields};
use crate::http::json_reply;
use crate::state::AppState;
use crate::state::with_state;
use belfry_actors::status::MessageStatus;

use crate::auth::{AuthUser, bearer};
use crate::db::message_history::{self, Cursor, HistoryFilter};
use crate::db::messages::MessageRow;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::schema;

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

/// A message's status, as the history filters by it.
fn status_schema() -> utoipa::openapi::schema::Object {
    schema::one_of(MessageStatus::ALL.map(MessageStatus::as_str))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// A `nextCursor` from the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    #[param(schema_with = status_schema)]
    status: Option<String>,
    /// RFC 3339; messages created at or after.
    #[param(format = DateTime)]
    since: Option<String>,
    /// RFC 3339; messages created before.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Comma-separated fields to keep of each message, e.g. `id,status,deliveredCount`.
    #[param(schema_with = fields::schema::<MessageRow>)]
    fields: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    #[schema(schema_with = fields::partial_list::<MessageRow>)]
    messages: serde_json::Value,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let history = endpoint!(GET, "api" / "messages" / "history")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<HistoryQuery>())
        .then(|state, user, query| async move { into_response(page(state, user, query).await) });
    let list = endpoint!(GET, "api" / "messages")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<HistoryQuery>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    history.or(list).unify()
}

#[utoipa::path(get, path = "/api/messages", tag = "messages", operation_id = "listMessages",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "The same list as `/api/messages/history`: \
            `?status=scheduled` lists what waits for its `sendAt`", body = HistoryPage),
        (status = 400, description = "Bad limit, status, date, cursor or field", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, query: HistoryQuery) -> ApiResult {
    page(state, user, query).await
}

fn instant(name: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_date",
                    format!("{name} must be an RFC 3339 instant, e.g. 2026-11-23T19:00:00Z"),
                )
            })
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/messages/history", tag = "messages",
    operation_id = "messageHistory",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "The caller's church's messages, newest first", body = HistoryPage),
        (status = 400, description = "Bad limit, status, date, cursor or field", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn page(state: AppState, user: AuthUser, query: HistoryQuery) -> ApiResult {
    let fields = Fields::parse(query.fields.as_deref(), MessageRow::field_names)?;
    let limit = super::paging::limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    if let Some(status) = query.status.as_deref()
        && MessageStatus::parse(status).is_none()
    {
        return Err(ApiError::bad_request(
            "invalid_status",
            format!(
                "status must be one of {}",
                MessageStatus::ALL.map(MessageStatus::as_str).join(", ")
            ),
        ));
    }
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "pass back a nextCursor as it was given")
            })
        })
        .transpose()?;
    let filter = HistoryFilter {
        status: query.status,
        since: instant("since", query.since.as_deref())?,
        until: instant("until", query.until.as_deref())?,
    };
    let messages =
        message_history::page(&state.pool, user.church()?, &filter, cursor, limit).await?;
    let next_cursor = (messages.len() as i64 == limit)
        .then(|| {
            messages
                .last()
                .map(|m| Cursor::after(m.created_at, m.id).encode())
        })
        .flatten();
    Ok(json_reply(
        StatusCode::OK,
        &HistoryPage {
            messages: fields.project_all(&messages)?,
            next_cursor,
        },
    ))
}
