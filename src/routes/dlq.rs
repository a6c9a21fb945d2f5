//! The dead-letter queue for admins: list with filters and paging, retry one, redrive every
//! match, discard with a note. Always scoped to the admin's church.

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_body, json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::db::dead_letters::{self, DlqFilter, DlqState};
use crate::db::redrive;
use crate::error::{ApiError, ApiResult, into_response};

type Timestamp = chrono::DateTime<chrono::Utc>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    reason: Option<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    message_id: Option<i64>,
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RedriveRequest {
    reason: Option<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    message_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscardRequest {
    note: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.jwt.clone()));
    let list = warp::path!("api" / "admin" / "dlq")
        .and(warp::get())
        .and(admin.clone())
        .and(warp::query::<ListQuery>())
        .then(|state, user, q| async move { into_response(list(state, user, q).await) });
    let retry_one = warp::path!("api" / "admin" / "dlq" / i64 / "retry")
        .and(warp::post())
        .and(admin.clone())
        .then(|id, state, user| async move { into_response(retry_one(state, user, id).await) });
    let retry_all = warp::path!("api" / "admin" / "dlq" / "retry")
        .and(warp::post())
        .and(admin.clone())
        .and(json_body::<RedriveRequest>())
        .then(|state, user, req| async move { into_response(retry_all(state, user, req).await) });
    let discard =
        warp::path!("api" / "admin" / "dlq" / i64)
            .and(warp::delete())
            .and(admin)
            .and(json_body::<DiscardRequest>())
            .then(|id, state, user, req| async move {
                into_response(discard(state, user, id, req).await)
            });
    list.or(retry_one)
        .unify()
        .or(retry_all)
        .unify()
        .or(discard)
        .unify()
}

fn parse_state(raw: Option<&str>) -> Result<DlqState, ApiError> {
    Ok(match raw {
        None | Some("open") => DlqState::Open,
        Some("retried") => DlqState::Retried,
        Some("discarded") => DlqState::Discarded,
        Some("all") => DlqState::All,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_state",
                format!("state {other:?} is not one of open, retried, discarded, all"),
            ));
        }
    })
}

async fn list(state: AppState, user: AuthUser, q: ListQuery) -> ApiResult {
    user.require_admin()?;
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=500).contains(&limit) || offset < 0 {
        return Err(ApiError::bad_request(
            "invalid_page",
            "limit must be 1 to 500 and offset at least 0",
        ));
    }
    let dlq_state = parse_state(q.state.as_deref())?;
    let filter = DlqFilter {
        reason_contains: q.reason,
        since: q.since,
        until: q.until,
        message_id: q.message_id,
    };
    let (items, total) = dead_letters::list(
        &state.pool,
        user.church_id,
        &filter,
        dlq_state,
        limit,
        offset,
    )
    .await?;
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "items": items, "total": total, "limit": limit, "offset": offset }),
    ))
}

async fn retry_one(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    user.require_admin()?;
    let done = redrive::redrive(
        &state.pool,
        user.church_id,
        user.user_id,
        &DlqFilter::default(),
        Some(id),
    )
    .await?;
    if done.opted_out > 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "member_opted_out",
            "the member has opted out; they can be sent to again once they text START",
        ));
    }
    if done.dead_letters == 0 {
        return Err(ApiError::not_found(format!(
            "no open dead letter {id} in your church"
        )));
    }
    state.system.directory().wake_outbox();
    Ok(json_reply(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "retried": 1 }),
    ))
}

async fn retry_all(state: AppState, user: AuthUser, req: RedriveRequest) -> ApiResult {
    user.require_admin()?;
    let filter = DlqFilter {
        reason_contains: req.reason,
        since: req.since,
        until: req.until,
        message_id: req.message_id,
    };
    let done = redrive::redrive(&state.pool, user.church_id, user.user_id, &filter, None).await?;
    if done.dead_letters > 0 {
        state.system.directory().wake_outbox();
    }
    Ok(json_reply(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "retried": done.dead_letters, "skippedOptedOut": done.opted_out }),
    ))
}

const MAX_NOTE: usize = 500;

async fn discard(state: AppState, user: AuthUser, id: i64, req: DiscardRequest) -> ApiResult {
    user.require_admin()?;
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE {
        return Err(ApiError::bad_request(
            "invalid_note",
            format!("say why in a note of 1 to {MAX_NOTE} characters"),
        ));
    }
    let entry = dead_letters::discard(&state.pool, user.church_id, id, user.user_id, note)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no open dead letter {id} in your church")))?;
    Ok(json_reply(StatusCode::OK, &entry))
}
