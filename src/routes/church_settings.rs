//! `/api/admin/church`: what is set about a church as a whole. Its own sender number is
//! assigned by operators only: replies to a number are routed to the church that has it, so a
//! church's admin choosing one could read another church's replies.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::church_query::ChurchQuery;
use crate::auth::{AuthUser, bearer};
use crate::db::churches::{self, NumberError};
use crate::domain::PhoneNumber;
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
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChurchChanges {
    /// Operators only: an E.164 number of the platform's account, or `null` for the shared one.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schema::phone_or_null)]
    from_number: Option<Option<String>>,
}

/// A field that is there, `null` included (absent stays `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn answer(state: &AppState, church: i64) -> ApiResult {
    let settings = churches::settings(&state.pool, church)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no church {church}")))?;
    let sends_from = settings
        .from_number
        .clone()
        .unwrap_or_else(|| state.platform_number.clone());
    Ok(json_reply(
        StatusCode::OK,
        &ChurchSettings {
            id: settings.id,
            name: settings.name,
            from_number: settings.from_number,
            sends_from,
        },
    ))
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
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
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
    if let Some(number) = changes.from_number {
        if !user.is_operator() {
            return Err(ApiError::forbidden(
                "sender numbers are assigned by the platform's operators",
            ));
        }
        let number = number
            .as_deref()
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
