//! `GET /api/admin/notifications/stats`: what became of the notifications made in a period
//! (see `db::notification_stats`). Admins see their church's people's; operators everyone's,
//! or one church's with `?churchId=`.

use belfry_actors::protocol::Category;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::db::notification_stats::{self, NotificationStats};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::json_reply;
use crate::http::registry::endpoint;
use crate::state::{AppState, with_state};

/// The longest period one request may cover.
const LONGEST: TimeDelta = TimeDelta::days(366);
/// The period when none is given: the last week.
const DEFAULT: TimeDelta = TimeDelta::days(7);

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(GET, "api" / "admin" / "notifications" / "stats")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<StatsQuery>())
        .then(|state, user, query| async move { into_response(stats(state, user, query).await) })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct StatsQuery {
    /// From this instant (RFC 3339), included; default a week before `until`.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Until this instant (RFC 3339), excluded; default now.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Only this category's.
    #[param(schema_with = super::notifications::category_schema)]
    category: Option<String>,
    /// Operators: one church's people only.
    #[param(schema_with = crate::http::schema::id)]
    church_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsAnswer {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    #[serde(flatten)]
    stats: NotificationStats,
}

fn instant(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_period",
                    format!("{field} must be an instant such as 2026-12-01T00:00:00Z"),
                )
            })
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/admin/notifications/stats", tag = "notifications",
    operation_id = "notificationStats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "Per channel, deliveries by status; read rate and median \
            time to read; email fallbacks and digests sent", body = StatsAnswer),
        (status = 400, description = "A bad instant, `since` not before `until`, more than 366 \
            days, an unknown category, or a bad church id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Staff, or an admin naming another church", body = ErrorBody),
    ))]
async fn stats(state: AppState, user: AuthUser, query: StatsQuery) -> ApiResult {
    user.require_admin()?;
    let church = match (user.is_operator(), query.church_id) {
        (true, None) => None,
        (_, requested) => Some(user.church_scope(requested)?),
    };
    let until = instant(query.until.as_deref(), "until")?.unwrap_or_else(Utc::now);
    let since = instant(query.since.as_deref(), "since")?.unwrap_or(until - DEFAULT);
    if since >= until || until - since > LONGEST {
        return Err(ApiError::bad_request(
            "invalid_period",
            "since must come before until, at most 366 days before",
        ));
    }
    let category = match query.category.as_deref() {
        None => None,
        Some(text) => Some(Category::parse(text).ok_or_else(|| {
            ApiError::bad_request("invalid_category", format!("no category {text:?}"))
        })?),
    };
    let stats = notification_stats::stats(
        &state.pool,
        (since, until),
        category.map(Category::as_str),
        church,
    )
    .await?;
    Ok(json_reply(
        StatusCode::OK,
        &StatsAnswer {
            since,
            until,
            stats,
        },
    ))
}
