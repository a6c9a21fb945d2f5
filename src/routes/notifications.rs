//! `/api/notifications`: the caller's own inbox. Listing (filtered by state and category,
//! searched by words), the counts the badge shows, and the marks a user puts on their
//! notifications (read, unread, archived, read all, seen). Each change is pushed to the user's
//! other tabs through the notifier (`notification:updated`, `notification:counts`).

use belfry_actors::protocol::{
    Category, Notification, NotificationChange, NotificationCounts, NotificationUpdate, Touched,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::paging;
use crate::auth::{AuthUser, bearer};
use crate::db::notifications::{self, InboxQuery, Mark, Shown};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
/// The longest search accepted.
const MAX_SEARCH_CHARS: usize = 200;

pub fn category_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<&str> = Category::ALL.into_iter().map(Category::as_str).collect();
    schema::one_of(names)
}

fn category_or_null() -> utoipa::openapi::schema::Object {
    schema::or_null(category_schema())
}

fn shown_schema() -> utoipa::openapi::schema::Object {
    schema::one_of(Shown::NAMES)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// `unread`, `read`, `all` (the default; archived ones are left out) or `archived`.
    #[param(schema_with = shown_schema)]
    status: Option<String>,
    #[param(schema_with = category_schema)]
    category: Option<String>,
    /// Words that must all be in the title or body (`"exact phrase"`, `-word` to leave out).
    #[param(max_length = 200)]
    q: Option<String>,
    /// The previous page's `nextCursor`.
    #[param(pattern = "^[0-9]{1,18}$")]
    before: Option<String>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Newest first.
    notifications: Vec<Notification>,
    /// Pass as `before` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadAllRequest {
    /// Only this category's; every category when left out or `null`.
    #[schema(schema_with = category_or_null)]
    category: Option<String>,
}

/// One notification after a mark, with the counts after it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Marked {
    notification: Notification,
    counts: NotificationCounts,
}

/// Every notification up to `upTo` was marked (`null`: there was none to mark).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkedAll {
    up_to: Option<i64>,
    counts: NotificationCounts,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let caller = with_state(state.clone()).and(bearer(state.auth.clone()));
    let list = endpoint!(GET, "api" / "notifications")
        .and(caller.clone())
        .and(warp::query::<InboxParams>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    let counts = endpoint!(GET, "api" / "notifications" / "counts")
        .and(caller.clone())
        .then(|state, user| async move { into_response(counts(state, user).await) });
    let read = endpoint!(POST, "api" / "notifications" / i64 / "read")
        .and(caller.clone())
        .then(|id, state, user| async move { into_response(read(state, user, id).await) });
    let unread = endpoint!(POST, "api" / "notifications" / i64 / "unread")
        .and(caller.clone())
        .then(|id, state, user| async move { into_response(unread(state, user, id).await) });
    let archive = endpoint!(POST, "api" / "notifications" / i64 / "archive")
        .and(caller.clone())
        .then(|id, state, user| async move { into_response(archive(state, user, id).await) });
    let read_all = endpoint!(POST, "api" / "notifications" / "read-all")
        .and(caller.clone())
        .and(json_body::<ReadAllRequest>(&state))
        .then(|state, user, req| async move { into_response(read_all(state, user, req).await) });
    let seen = endpoint!(POST, "api" / "notifications" / "seen")
        .and(caller)
        .then(|state, user| async move { into_response(seen(state, user).await) });
    list.or(counts)
        .unify()
        .or(read)
        .unify()
        .or(unread)
        .unify()
        .or(archive)
        .unify()
        .or(read_all)
        .unify()
        .or(seen)
        .unify()
}

fn parse_category(text: Option<&str>) -> Result<Option<Category>, ApiError> {
    text.map(|t| {
        Category::parse(t).ok_or_else(|| {
            let names: Vec<&str> = Category::ALL.into_iter().map(Category::as_str).collect();
            ApiError::bad_request(
                "invalid_category",
                format!("category must be one of {}", names.join(", ")),
            )
        })
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/notifications", tag = "notifications",
    operation_id = "listNotifications",
    security(("bearer" = [])),
    params(InboxParams),
    responses(
        (status = 200, description = "The caller's notifications, newest first", body = Inbox),
        (status = 400, description = "Bad status, category, search, cursor or limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, params: InboxParams) -> ApiResult {
    let shown = match params.status.as_deref() {
        None => Shown::All,
        Some(text) => Shown::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                format!("status must be one of {}", Shown::NAMES.join(", ")),
            )
        })?,
    };
    let category = parse_category(params.category.as_deref())?;
    let search = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::bad_request(
            "invalid_search",
            format!("q must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let before = params
        .before
        .as_deref()
        .map(|b| {
            b.parse::<i64>().ok().filter(|id| *id >= 0).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "before must be a nextCursor")
            })
        })
        .transpose()?;
    let limit = paging::limit(params.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let query = InboxQuery {
        shown,
        category,
        search,
        before,
        limit,
    };
    let mut page = notifications::inbox(&state.pool, user.user_id, &query).await?;
    let next_cursor = match page.len() as i64 > limit {
        true => {
            page.truncate(limit as usize);
            page.last().map(|n| n.id.to_string())
        }
        false => None,
    };
    Ok(json_reply(
        StatusCode::OK,
        &Inbox {
            notifications: page,
            next_cursor,
        },
    ))
}

#[utoipa::path(get, path = "/api/notifications/counts", tag = "notifications",
    operation_id = "notificationCounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unread and unseen notifications, and unread by category",
            body = NotificationCounts),
        (status = 401, body = ErrorBody),
    ))]
async fn counts(state: AppState, user: AuthUser) -> ApiResult {
    let counts = notifications::counts(&state.pool, user.user_id).await?;
    Ok(json_reply(StatusCode::OK, &counts))
}

async fn put_mark(state: AppState, user: AuthUser, id: i64, mark: Mark) -> ApiResult {
    // To the microsecond, as the database keeps it: whether it was read now is then an equality.
    let now = chrono::Utc::now();
    let at = chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let (notification, counts) = notifications::mark(&state.pool, user.user_id, id, mark, at)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("you have no notification {id}")))?;
    // Newly read: its read time is this request's (an earlier one is kept).
    if notification.read_at == Some(at) {
        state.metrics.notification_deliveries("in_app", "read", 1);
    }
    let change = match mark {
        Mark::Read => NotificationChange::Read,
        Mark::Unread => NotificationChange::Unread,
        Mark::Archive => NotificationChange::Archived,
    };
    let update = NotificationUpdate {
        change,
        touched: Touched::These { ids: vec![id] },
        at,
    };
    state
        .system
        .directory()
        .notifications_changed(user.user_id, update, counts.clone());
    Ok(json_reply(
        StatusCode::OK,
        &Marked {
            notification,
            counts,
        },
    ))
}

#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "notifications",
    operation_id = "readNotification",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The notification")),
    responses(
        (status = 200, description = "It is read (and seen)", body = Marked),
        (status = 401, body = ErrorBody),
        (status = 404, description = "The caller has no such notification", body = ErrorBody),
    ))]
async fn read(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    put_mark(state, user, id, Mark::Read).await
}

#[utoipa::path(post, path = "/api/notifications/{id}/unread", tag = "notifications",
    operation_id = "unreadNotification",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The notification")),
    responses(
        (status = 200, description = "It is unread again", body = Marked),
        (status = 401, body = ErrorBody),
        (status = 404, description = "The caller has no such notification", body = ErrorBody),
    ))]
async fn unread(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    put_mark(state, user, id, Mark::Unread).await
}

#[utoipa::path(post, path = "/api/notifications/{id}/archive", tag = "notifications",
    operation_id = "archiveNotification",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The notification")),
    responses(
        (status = 200, description = "It is archived: listed only with `status=archived`, \
            counted nowhere", body = Marked),
        (status = 401, body = ErrorBody),
        (status = 404, description = "The caller has no such notification", body = ErrorBody),
    ))]
async fn archive(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    put_mark(state, user, id, Mark::Archive).await
}

fn marked_all(
    state: &AppState,
    user: &AuthUser,
    change: NotificationChange,
    category: Option<Category>,
    (up_to, counts): (Option<i64>, NotificationCounts),
    at: chrono::DateTime<chrono::Utc>,
) -> Response {
    if let Some(up_to) = up_to {
        let update = NotificationUpdate {
            change,
            touched: Touched::UpTo { up_to, category },
            at,
        };
        state
            .system
            .directory()
            .notifications_changed(user.user_id, update, counts.clone());
    }
    json_reply(StatusCode::OK, &MarkedAll { up_to, counts })
}

#[utoipa::path(post, path = "/api/notifications/read-all", tag = "notifications",
    operation_id = "readAllNotifications",
    security(("bearer" = [])),
    request_body = ReadAllRequest,
    responses(
        (status = 200, description = "Every unread notification (of the category) is read",
            body = MarkedAll),
        (status = 400, description = "Bad JSON or unknown category", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn read_all(state: AppState, user: AuthUser, req: ReadAllRequest) -> ApiResult {
    let category = parse_category(req.category.as_deref())?;
    let at = chrono::Utc::now();
    let (done, newly_read) =
        notifications::read_all(&state.pool, user.user_id, category, at).await?;
    state
        .metrics
        .notification_deliveries("in_app", "read", newly_read);
    Ok(marked_all(
        &state,
        &user,
        NotificationChange::Read,
        category,
        done,
        at,
    ))
}

#[utoipa::path(post, path = "/api/notifications/seen", tag = "notifications",
    operation_id = "seenNotifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The badge was looked at: nothing the caller has now is \
            unseen", body = MarkedAll),
        (status = 401, body = ErrorBody),
    ))]
async fn seen(state: AppState, user: AuthUser) -> ApiResult {
    let at = chrono::Utc::now();
    let done = notifications::seen(&state.pool, user.user_id, at).await?;
    Ok(marked_all(
        &state,
        &user,
        NotificationChange::Seen,
        None,
        done,
        at,
    ))
}
