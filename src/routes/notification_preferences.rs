//! `GET` and `PATCH /api/notifications/preferences`: what the caller chose about their own
//! notifications (channels per category, time zone, quiet hours on chosen days, digest), with
//! the defaults filled in. A change names only what it changes; a wrong field is named in the
//! `400` and nothing is stored.

use serde::Deserialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{AuthUser, bearer};
use crate::db::notification_preferences::{self, Changed};
use crate::domain::Preferences;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

/// Channels to turn on or off; those left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ChannelChanges {
    in_app: Option<bool>,
    email: Option<bool>,
    sms: Option<bool>,
}

/// Each category named gets its channels changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CategoryChanges {
    announcement: Option<ChannelChanges>,
    delivery: Option<ChannelChanges>,
    chat: Option<ChannelChanges>,
    system: Option<ChannelChanges>,
    security: Option<ChannelChanges>,
}

fn clock_time() -> utoipa::openapi::schema::Object {
    schema::clock_time_or_null()
}

fn days_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(schema::one_of(
            crate::domain::notification_preferences::DAYS.map(|(name, _)| name),
        ))
        .min_items(Some(1))
        .build()
}

fn days_or_null() -> utoipa::openapi::schema::Array {
    let mut days = days_schema();
    days.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::schema::Type::Array,
        utoipa::openapi::schema::Type::Null,
    ]);
    days
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct QuietHoursChanges {
    enabled: Option<bool>,
    /// `HH:MM` in the user's zone; not the same as `end`.
    #[schema(schema_with = clock_time)]
    start: Option<String>,
    /// `HH:MM`; before `start` means the next morning.
    #[schema(schema_with = clock_time)]
    end: Option<String>,
    /// The days on which a stretch begins, at least one.
    #[schema(schema_with = days_or_null)]
    days: Option<Vec<String>>,
}

fn frequency_schema() -> utoipa::openapi::schema::Object {
    schema::or_null(schema::one_of(["off", "hourly", "daily"]))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct DigestChanges {
    #[schema(schema_with = frequency_schema)]
    frequency: Option<String>,
    #[schema(schema_with = clock_time)]
    at: Option<String>,
}

/// Any part of the preferences; what is left out (or `null`) stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PreferenceChanges {
    /// An IANA time zone such as `Europe/London`.
    #[schema(schema_with = schema::time_zone_or_null)]
    timezone: Option<String>,
    channels: Option<ChannelChanges>,
    categories: Option<CategoryChanges>,
    quiet_hours: Option<QuietHoursChanges>,
    digest: Option<DigestChanges>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let caller = with_state(state.clone()).and(bearer(state.auth.clone()));
    let get = endpoint!(GET, "api" / "notifications" / "preferences")
        .and(caller.clone())
        .then(|state, user| async move { into_response(get(state, user).await) });
    let change = endpoint!(PATCH, "api" / "notifications" / "preferences")
        .and(caller)
        .and(json_body::<serde_json::Value>(&state))
        .then(|state, user, patch| async move { into_response(change(state, user, patch).await) });
    get.or(change).unify()
}

async fn current(state: &AppState, user: &AuthUser) -> Result<Preferences, ApiError> {
    notification_preferences::of(&state.pool, user.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))
}

#[utoipa::path(get, path = "/api/notifications/preferences", tag = "notifications",
    operation_id = "notificationPreferences",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's preferences, defaults filled in", body = Preferences),
        (status = 401, body = ErrorBody),
    ))]
async fn get(state: AppState, user: AuthUser) -> ApiResult {
    Ok(json_reply(StatusCode::OK, &current(&state, &user).await?))
}

#[utoipa::path(patch, path = "/api/notifications/preferences", tag = "notifications",
    operation_id = "updateNotificationPreferences",
    security(("bearer" = [])),
    request_body = PreferenceChanges,
    responses(
        (status = 200, description = "The preferences after the change", body = Preferences),
        (status = 400, description = "`invalid_preferences`, naming the field (an unknown \
            category or channel, a zone that is not IANA, a bad time, no days, quiet hours that \
            start and end together)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn change(state: AppState, user: AuthUser, patch: serde_json::Value) -> ApiResult {
    let changed =
        notification_preferences::change(&state.pool, user.user_id, |p| p.apply(&patch)).await?;
    match changed {
        Changed::Saved(next) => Ok(json_reply(StatusCode::OK, &next)),
        Changed::Refused(e) => Err(ApiError::bad_request("invalid_preferences", e.to_string())
            .with_details(serde_json::json!({ "field": e.field }))),
        Changed::NoSuchUser => Err(ApiError::unauthorized("this account no longer exists")),
    }
}
