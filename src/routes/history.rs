//! `GET /api/messages/history`: the caller's church's messages, newest first, by cursor, with
//! filters by status and date.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::db::history::{self, Cursor, HistoryFilter};
use crate::error::{ApiError, ApiResult, into_response};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
const STATUSES: [&str; 5] = ["pending", "sending", "delivered", "failed", "completed"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "messages" / "history")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(warp::query::<HistoryQuery>())
        .then(|state, user, query| async move { into_response(page(state, user, query).await) })
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

async fn page(state: AppState, user: AuthUser, query: HistoryQuery) -> ApiResult {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    if let Some(status) = query.status.as_deref()
        && !STATUSES.contains(&status)
    {
        return Err(ApiError::bad_request(
            "invalid_status",
            format!("status must be one of {}", STATUSES.join(", ")),
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
    let messages = history::page(&state.pool, user.church_id, &filter, cursor, limit).await?;
    let next_cursor = (messages.len() as i64 == limit)
        .then(|| messages.last().map(|m| Cursor::after(m).encode()))
        .flatten();
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "messages": messages, "nextCursor": next_cursor }),
    ))
}
