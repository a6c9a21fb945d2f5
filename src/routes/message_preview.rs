//! `POST /api/messages/preview`: a body as one member would receive it, merge fields filled in,
//! with its encoding and segments, without sending anything. The console shows it while one
//! writes a body with fields.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::outgoing::{self, BODY_CONTROLS, MAX_BODY_CHARS};
use crate::auth::{AuthUser, bearer};
use crate::db::members;
use crate::db::new_message::MAX_SEGMENTS;
use crate::domain::{BodyTemplate, Encoding, Recipient, Segments};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::state::{AppState, with_state};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreviewRequest {
    #[schema(schema_with = body_schema)]
    body: String,
    /// The member to fill the fields in for; the church's first member when absent.
    #[serde(default)]
    member_id: Option<i64>,
}

fn body_schema() -> utoipa::openapi::schema::Object {
    schema::text(MAX_BODY_CHARS, BODY_CONTROLS)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    member_id: i64,
    /// What that member would receive.
    body: String,
    encoding: Encoding,
    segments: usize,
    /// More than 10 segments: a send of it would be refused (`422 too_long`).
    too_long: bool,
}

pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    endpoint!(POST, "api" / "messages" / "preview")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<PreviewRequest>(&state))
        .then(|state, user, req| async move { into_response(preview(state, user, req).await) })
}

#[utoipa::path(post, path = "/api/messages/preview", tag = "messages",
    operation_id = "previewMessage",
    security(("bearer" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The body as that member would receive it", body = Preview),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such member in the church", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`unknown_merge_field` (named), `invalid_template`, or \
            `no_members` (nobody to fill the fields in for)", body = ErrorBody),
    ))]
async fn preview(state: AppState, user: AuthUser, req: PreviewRequest) -> ApiResult {
    let church = user.church()?;
    let body = outgoing::body(&req.body)?;
    let template = BodyTemplate::parse(body).map_err(outgoing::merge_refusal)?;
    let Some((member_id, name, church_name)) =
        members::merge_subject(&state.pool, church, req.member_id).await?
    else {
        return Err(match req.member_id {
            Some(id) => ApiError::not_found(format!("no member {id} in your church")),
            None => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_members",
                "your church has no members to fill the fields in for",
            ),
        });
    };
    let text = template
        .render(Recipient {
            name: &name,
            church: &church_name,
        })
        .map_err(outgoing::merge_refusal)?;
    let count = Segments::of(&text);
    Ok(json_reply(
        StatusCode::OK,
        &Preview {
            member_id,
            body: text,
            encoding: count.encoding,
            segments: count.segments,
            too_long: count.segments > MAX_SEGMENTS,
        },
    ))
}
