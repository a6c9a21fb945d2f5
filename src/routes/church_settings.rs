//! `/api/admin/church`: what is set about a church as a whole: its time zone and quiet hours
//! (set by its admins), and its own sender number, assigned by operators only: replies to a
//! number are routed to the church that has it, so a church's admin choosing one could read
//! another church's replies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::church_query::ChurchQuery;
use crate::auth::{AuthUser, bearer};
use crate::db::churches::{self, NumberError};
use crate::db::quiet_hours::{self, NewQuietSettings};
use crate::domain::{ClockTime, PhoneNumber, QuietHours, TimeZoneName};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let get = endpoint!(GET, "api" / "admin" / "church")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<ChurchQuery>())
        .then(|state, user, query| async move { into_response(get(state, user, query).await) });
    let update = endpoint!(PATCH, "api" / "admin" / "church")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<ChurchQuery>())
        .and(json_body::<ChurchChanges>(&state))
        .then(|state, user, query, changes| async move {
            into_response(update(state, user, query, changes).await)
        });
    get.or(update).unify()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurchSettings {
    id: i64,
    name: String,
    /// The church's own sender number; `null` sends from the platform's shared number.
    from_number: Option<String>,
    /// The number its texts go out from now.
    sends_from: String,
    /// IANA time zone: quiet hours are read in it.
    #[schema(example = "America/Chicago")]
    timezone: String,
    quiet_hours: QuietHoursSetting,
    /// The stretch of quiet hours running now or next; `null` while they are off.
    quiet_window: Option<QuietWindow>,
}

/// Members are not texted from `start` to `end` (the next morning when `end` is earlier),
/// each day in the church's time zone; 21:00 to 08:00 is recommended, as US telemarketing
/// rules require. A send that would start inside is held until the end unless an admin marks
/// it urgent, and a broadcast still going when they begin waits for their end.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuietHoursSetting {
    enabled: bool,
    #[schema(example = "21:00")]
    start: String,
    #[schema(example = "08:00")]
    end: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuietWindow {
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
    /// Inside it now: only urgent messages go.
    now: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChurchChanges {
    /// Operators only: an E.164 number of the platform's account, or `null` for the shared one.
    #[serde(default, deserialize_with = "crate::http::body::present")]
    #[schema(schema_with = schema::phone_or_null)]
    from_number: Option<Option<String>>,
    /// An IANA time zone such as `America/Chicago`.
    #[serde(default)]
    #[schema(schema_with = schema::time_zone_or_null)]
    timezone: Option<String>,
    /// Any of its fields; the others stay as they are.
    #[serde(default)]
    quiet_hours: Option<QuietHoursChanges>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuietHoursChanges {
    #[serde(default)]
    enabled: Option<bool>,
    /// `HH:MM`, 24-hour; not the same as `end`.
    #[serde(default)]
    #[schema(schema_with = schema::clock_time_or_null)]
    start: Option<String>,
    /// `HH:MM`, 24-hour; before `start` means the next morning.
    #[serde(default)]
    #[schema(schema_with = schema::clock_time_or_null)]
    end: Option<String>,
}

async fn answer(state: &AppState, church: i64) -> ApiResult {
    let settings = churches::settings(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    let quiet = quiet_hours::settings(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    let sends_from = settings
        .from_number
        .clone()
        .unwrap_or_else(|| state.platform_number.clone());
    let now = state.clock.now();
    Ok(json_reply(
        StatusCode::OK,
        &ChurchSettings {
            id: settings.id,
            name: settings.name,
            from_number: settings.from_number,
            sends_from,
            quiet_window: quiet.window().map(|w| QuietWindow {
                from: w.from,
                until: w.until,
                now: w.contains(now),
            }),
            quiet_hours: QuietHoursSetting {
                enabled: quiet.enabled,
                start: ClockTime::from_time(quiet.start).to_hhmm(),
                end: ClockTime::from_time(quiet.end).to_hhmm(),
            },
            timezone: quiet.timezone,
        },
    ))
}

/// Applies a change of time zone or quiet hours: checked whole, stored with the stretch it
/// makes now, and the tree's hold brought in line at once.
async fn change_quiet_hours(
    state: &AppState,
    church: i64,
    timezone: Option<&str>,
    changes: Option<&QuietHoursChanges>,
) -> Result<(), ApiError> {
    let current = quiet_hours::settings(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    let invalid = |code: &'static str, e: crate::domain::QuietHoursError| {
        ApiError::bad_request(code, e.to_string())
    };
    let timezone = TimeZoneName::parse(timezone.map(str::trim).unwrap_or(&current.timezone))
        .map_err(|e| invalid("invalid_timezone", e))?;
    let time = |given: Option<&String>, stored, field: &str| match given {
        Some(raw) => ClockTime::parse(raw.trim()).map_err(|e| {
            ApiError::bad_request("invalid_quiet_hours", format!("quietHours.{field}: {e}"))
        }),
        None => Ok(ClockTime::from_time(stored)),
    };
    let start = time(
        changes.and_then(|c| c.start.as_ref()),
        current.start,
        "start",
    )?;
    let end = time(changes.and_then(|c| c.end.as_ref()), current.end, "end")?;
    let enabled = changes.and_then(|c| c.enabled).unwrap_or(current.enabled);
    let now = state.clock.now();
    let hours =
        QuietHours::new(timezone, start, end).map_err(|e| invalid("invalid_quiet_hours", e))?;
    let new = NewQuietSettings {
        timezone,
        enabled,
        start,
        end,
        window: enabled.then(|| hours.window(now)),
    };
    if !quiet_hours::save(&state.pool, church, &new).await? {
        return Err(ApiError::not_found(format!("no church {church}")));
    }
    let quiet_now = new.window.is_some_and(|w| w.contains(now));
    let directory = state.system.directory();
    directory.set_hold(belfry_actors::Hold::QuietHours, church, quiet_now);
    // What the old quiet hours held goes when the new ones allow: now, if they are off.
    let retimed = quiet_hours::retime_held(&state.pool, church, now, |would_go| {
        match enabled.then(|| hours.held_until(would_go)).flatten() {
            Some(end) => (end, true),
            None => (would_go, false),
        }
    })
    .await?;
    if retimed > 0 {
        directory.wake_outbox();
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/admin/church", tag = "admin", operation_id = "getChurch",
    security(("bearer" = [])),
    params(ChurchQuery),
    responses(
        (status = 200, description = "The church's settings", body = ChurchSettings),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Admins only; operators name a church", body = ErrorBody),
        (status = 404, description = "No church with the `churchId` an operator named", body = ErrorBody),
    ))]
async fn get(state: AppState, user: AuthUser, query: ChurchQuery) -> ApiResult {
    let church = query.admin_church(&user)?;
    answer(&state, church).await
}

#[utoipa::path(patch, path = "/api/admin/church", tag = "admin", operation_id = "updateChurch",
    security(("bearer" = [])),
    params(ChurchQuery),
    request_body = ChurchChanges,
    responses(
        (status = 200, description = "The church's settings after the change", body = ChurchSettings),
        (status = 401, body = ErrorBody),
        (status = 400, description = "`invalid_timezone`, `invalid_quiet_hours` (naming the \
            field), `invalid_phone`", body = ErrorBody),
        (status = 403, description = "Admins only; the sender number is set by operators", body = ErrorBody),
        (status = 404, description = "No church with the `churchId` an operator named", body = ErrorBody),
        (status = 409, description = "`number_taken`: another church sends from it", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ))]
async fn update(
    state: AppState,
    user: AuthUser,
    query: ChurchQuery,
    changes: ChurchChanges,
) -> ApiResult {
    let church = query.admin_church(&user)?;
    // Everything is checked before anything is stored.
    let number = match &changes.from_number {
        None => None,
        Some(_) if !user.is_operator() => {
            return Err(ApiError::forbidden(
                "sender numbers are assigned by the platform's operators",
            ));
        }
        Some(number) => Some(sender_number(&state, number.as_deref())?),
    };
    if changes.timezone.is_some() || changes.quiet_hours.is_some() {
        change_quiet_hours(
            &state,
            church,
            changes.timezone.as_deref(),
            changes.quiet_hours.as_ref(),
        )
        .await?;
    }
    if let Some(number) = number {
        let found = churches::set_from_number(&state.pool, church, number.as_ref())
            .await
            .map_err(|e| match e {
                NumberError::Taken => ApiError::new(
                    StatusCode::CONFLICT,
                    "number_taken",
                    "another church sends from this number",
                ),
                NumberError::Db(e) => e.into(),
            })?;
        if !found {
            return Err(ApiError::not_found(format!("no church {church}")));
        }
    }
    answer(&state, church).await
}

/// A church's own number as given (`None`: back to the shared one); never the shared one.
fn sender_number(state: &AppState, raw: Option<&str>) -> Result<Option<PhoneNumber>, ApiError> {
    let number = raw
        .map(|raw| {
            PhoneNumber::parse(raw.trim())
                .map_err(|e| ApiError::bad_request("invalid_phone", e.to_string()))
        })
        .transpose()?;
    if number
        .as_ref()
        .is_some_and(|n| n.as_str() == state.platform_number)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "number_taken",
            "this is the platform's shared number, which every church without its own uses",
        ));
    }
    Ok(number)
}
