//! The dead-letter queue for admins: list with filters and paging, retry one, redrive every
//! match, discard with a note. A church's admin acts on their church's; an operator on any
//! church's, one named with `?churchId=` or, without it, every church's.

use crate::http::registry::endpoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::church_query::ChurchQuery;
use super::fields::{self, FieldNames, Fields};
use crate::auth::{AuthUser, bearer};
use crate::db::dead_letters::{self, DlqFilter, DlqState};
use crate::db::redrive;
use crate::domain::Controls;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply, schema};
use crate::state::AppState;
use crate::state::with_state;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
    /// Only reasons containing this text.
    #[param(schema_with = schema::free_text)]
    reason: Option<String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    message_id: Option<i64>,
    /// `open` (default).
    #[param(schema_with = state_schema)]
    state: Option<String>,
    /// Comma-separated fields to keep of each dead letter.
    #[param(schema_with = fields::schema::<dead_letters::DeadLetterRow>)]
    fields: Option<String>,
    /// Operators: only this church's (default: every church's). Others: their own only.
    #[param(schema_with = schema::id)]
    church_id: Option<i64>,
}

/// The dead letters a caller acts on: their church's, or for an operator the church they name
/// or (`None`) every church's.
fn scope(user: &AuthUser, requested: Option<i64>) -> Result<Option<i64>, ApiError> {
    user.require_admin()?;
    if user.is_operator() && requested.is_none() {
        return Ok(None);
    }
    user.church_scope(requested).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct DlqPage {
    #[schema(schema_with = fields::partial_list::<dead_letters::DeadLetterRow>)]
    items: serde_json::Value,
    total: i64,
    limit: i64,
    offset: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Redriven {
    /// Dead letters put back in the outbox.
    retried: usize,
    /// Matching dead letters left alone because the member opted out.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_opted_out: Option<usize>,
}

/// Which dead letters to retry; none given: every open one.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedriveRequest {
    #[schema(schema_with = free_text_or_null)]
    reason: Option<String>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    message_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardRequest {
    /// Why, 1 to 500 characters.
    #[schema(schema_with = note_schema)]
    note: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let admin = with_state(state.clone()).and(bearer(state.auth.clone()));
    let list = endpoint!(GET, "api" / "admin" / "dlq")
        .and(admin.clone())
        .and(warp::query::<ListQuery>())
        .then(|state, user, q| async move { into_response(list(state, user, q).await) });
    let retry_one = endpoint!(POST, "api" / "admin" / "dlq" / i64 / "retry")
        .and(admin.clone())
        .and(warp::query::<ChurchQuery>())
        .then(|id, state, user, q: ChurchQuery| async move {
            into_response(retry_one(state, user, id, q.church_id).await)
        });
    let retry_all = endpoint!(POST, "api" / "admin" / "dlq" / "retry")
        .and(admin.clone())
        .and(warp::query::<ChurchQuery>())
        .and(json_body::<RedriveRequest>(&state))
        .then(|state, user, q: ChurchQuery, req| async move {
            into_response(retry_all(state, user, q.church_id, req).await)
        });
    let discard = endpoint!(DELETE, "api" / "admin" / "dlq" / i64)
        .and(admin)
        .and(warp::query::<ChurchQuery>())
        .and(json_body::<DiscardRequest>(&state))
        .then(|id, state, user, q: ChurchQuery, req| async move {
            into_response(discard(state, user, id, q.church_id, req).await)
        });
    list.or(retry_one)
        .unify()
        .or(retry_all)
        .unify()
        .or(discard)
        .unify()
}

/// The states a list may ask for, by name.
const STATES: [(&str, DlqState); 4] = [
    ("open", DlqState::Open),
    ("retried", DlqState::Retried),
    ("discarded", DlqState::Discarded),
    ("all", DlqState::All),
];

fn free_text_or_null() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::free_text())
}

fn state_schema() -> utoipa::openapi::schema::Object {
    schema::one_of(STATES.map(|(name, _)| name))
}

fn parse_state(raw: Option<&str>) -> Result<DlqState, ApiError> {
    let Some(raw) = raw else {
        return Ok(DlqState::Open);
    };
    STATES
        .iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, state)| *state)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_state",
                format!(
                    "state {raw:?} is not one of {}",
                    STATES.map(|(name, _)| name).join(", ")
                ),
            )
        })
}

#[utoipa::path(get, path = "/api/admin/dlq", tag = "admin", operation_id = "listDeadLetters",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Dead letters of the church, newest first, with every attempt", body = DlqPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, q: ListQuery) -> ApiResult {
    let church = scope(&user, q.church_id)?;
    let fields = Fields::parse(
        q.fields.as_deref(),
        dead_letters::DeadLetterRow::field_names,
    )?;
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
    let (items, total) =
        dead_letters::list(&state.pool, church, &filter, dlq_state, limit, offset).await?;
    Ok(json_reply(
        StatusCode::OK,
        &DlqPage {
            items: fields.project_all(&items)?,
            total,
            limit,
            offset,
        },
    ))
}

#[utoipa::path(post, path = "/api/admin/dlq/{id}/retry", tag = "admin", operation_id = "retryDeadLetter",
    security(("bearer" = [])),
    params(("id" = i64, Path), ChurchQuery),
    responses(
        (status = 202, description = "Back in the outbox", body = Redriven),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No open dead letter with this id", body = ErrorBody),
        (status = 409, description = "The member opted out", body = ErrorBody),
    ))]
async fn retry_one(state: AppState, user: AuthUser, id: i64, church: Option<i64>) -> ApiResult {
    let church = scope(&user, church)?;
    let done = redrive::redrive(
        &state.pool,
        church,
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
        &Redriven {
            retried: 1,
            skipped_opted_out: None,
        },
    ))
}

#[utoipa::path(post, path = "/api/admin/dlq/retry", tag = "admin", operation_id = "redriveDeadLetters",
    security(("bearer" = [])),
    params(ChurchQuery),
    request_body = RedriveRequest,
    responses(
        (status = 202, description = "Every matching open dead letter is back in the outbox", body = Redriven),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn retry_all(
    state: AppState,
    user: AuthUser,
    church: Option<i64>,
    req: RedriveRequest,
) -> ApiResult {
    let church = scope(&user, church)?;
    let filter = DlqFilter {
        reason_contains: req.reason,
        since: req.since,
        until: req.until,
        message_id: req.message_id,
    };
    let done = redrive::redrive(&state.pool, church, user.user_id, &filter, None).await?;
    if done.dead_letters > 0 {
        state.system.directory().wake_outbox();
    }
    Ok(json_reply(
        StatusCode::ACCEPTED,
        &Redriven {
            retried: done.dead_letters,
            skipped_opted_out: Some(done.opted_out),
        },
    ))
}

const MAX_NOTE: usize = 500;
/// A note is shown as text: tabs and newlines are its only control characters.
const NOTE_CONTROLS: Controls = Controls::TabsAndNewlines;

fn note_schema() -> utoipa::openapi::schema::Object {
    schema::text(MAX_NOTE, NOTE_CONTROLS)
}

#[utoipa::path(delete, path = "/api/admin/dlq/{id}", tag = "admin", operation_id = "discardDeadLetter",
    security(("bearer" = [])),
    params(("id" = i64, Path), ChurchQuery),
    request_body = DiscardRequest,
    responses(
        (status = 200, description = "The dead letter, now discarded", body = dead_letters::DeadLetterRow),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; another church's: operators only", body = ErrorBody),
        (status = 404, description = "No open dead letter with this id", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn discard(
    state: AppState,
    user: AuthUser,
    id: i64,
    church: Option<i64>,
    req: DiscardRequest,
) -> ApiResult {
    let church = scope(&user, church)?;
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE || NOTE_CONTROLS.refuses_any(note) {
        return Err(ApiError::bad_request(
            "invalid_note",
            format!(
                "say why in a note of 1 to {MAX_NOTE} characters, without control characters other than tabs and newlines"
            ),
        ));
    }
    let entry = dead_letters::discard(&state.pool, church, id, user.user_id, note)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no open dead letter {id} in your church")))?;
    Ok(json_reply(StatusCode::OK, &entry))
}

impl FieldNames for dead_letters::DeadLetterRow {}
