//! `POST /api/messages` stores a message and its recipients, then hands the recipients to the
//! delivery breaker, now or at `sendAt`; `GET /api/messages/{id}` reads it back with every
//! recipient's status; `DELETE /api/messages/{id}` cancels a scheduled one not yet started.

use crate::http::registry::endpoint;
use std::net::IpAddr;

use crate::limits::http::{client_ip, with_headers};
use serde::Serialize;
use utoipa::{PartialSchema, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::fields::{FieldNames, FieldsQuery};
use super::outgoing;
use super::send_request::{SendRequest, audience, parse_idempotency_key, send_at};
use crate::auth::{AuthUser, bearer};
use crate::db::messages;
use crate::db::new_message::{self, IdempotentRequest};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;
use belfry_actors::protocol::{RoomEvent, church_room};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Ref, Schema};

/// A message with every recipient's status.
#[derive(Serialize)]
pub struct MessageDetail {
    #[serde(flatten)]
    message: messages::MessageRow,
    recipients: Vec<messages::RecipientRow>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let send = endpoint!(POST, "api" / "messages")
        .and(with_state(state.clone()))
        .and(client_ip(&state.limits))
        .and(bearer(state.auth.clone()))
        .and(warp::header::optional::<String>("idempotency-key"))
        .and(json_body::<SendRequest>(&state))
        .then(|state, client, user, key, req| async move {
            into_response(send(state, client, user, key, req).await)
        });
    let show =
        endpoint!(GET, "api" / "messages" / i64)
            .and(with_state(state.clone()))
            .and(bearer(state.auth.clone()))
            .and(warp::query::<FieldsQuery<MessageDetail>>())
            .then(|id, state, user, query| async move {
                into_response(show(state, user, id, query).await)
            });
    let cancel = endpoint!(DELETE, "api" / "messages" / i64)
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|id, state, user| async move { into_response(cancel(state, user, id).await) });
    send.or(show).unify().or(cancel).unify()
}

/// Counts the request against the user's `sms` policy, then sends.
#[utoipa::path(post, path = "/api/messages", tag = "messages", operation_id = "sendMessage",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "1 to 255 printable ASCII characters: a retry with the same key and body \
            within 24 hours answers the first receipt and sends nothing new")),
    request_body = SendRequest,
    responses(
        (status = 202, description = "Stored and queued for delivery", body = new_message::SendReceipt,
            headers(("RateLimit" = String), ("RateLimit-Policy" = String),
                ("Idempotent-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`urgent` from someone who is not an admin", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Unknown members or groups, nobody to send to, or a reused key", body = ErrorBody),
        (status = 429, description = "The sender's `sms` limit, or the church's daily recipients \
            (`quota_exceeded`: nothing was sent)", body = ErrorBody),
    ))]
async fn send(
    state: AppState,
    client: Option<IpAddr>,
    user: AuthUser,
    idempotency_key: Option<String>,
    req: SendRequest,
) -> ApiResult {
    let sms = outgoing::check_sms_limit(&state, client, &user).await?;
    let response = send_message(state, user, idempotency_key, req).await?;
    Ok(with_headers(response, sms.as_ref()))
}

async fn send_message(
    state: AppState,
    user: AuthUser,
    idempotency_key: Option<String>,
    req: SendRequest,
) -> ApiResult {
    let idempotency_key = parse_idempotency_key(idempotency_key)?;
    let body = outgoing::body(&req.body)?;
    let audience = audience(&req)?;
    let send_at = send_at(req.send_at.as_deref())?;
    // The request as it is understood, so that re-encoding the same JSON differently still
    // counts as the same request.
    let canonical = serde_json::json!({
        "body": body,
        "memberIds": req.member_ids,
        "groupIds": req.group_ids,
        "allMembers": req.all_members.unwrap_or(false),
        "sendAt": send_at,
        "urgent": req.urgent.unwrap_or(false),
    })
    .to_string();
    let idempotency = idempotency_key.as_deref().map(|key| IdempotentRequest {
        key,
        request: &canonical,
    });
    let timing = outgoing::Timing {
        send_at,
        urgent: req.urgent.unwrap_or(false),
    };
    let sent = outgoing::create(
        &state,
        &user,
        body,
        audience,
        (outgoing::Kind::Broadcast, timing),
        idempotency,
    )
    .await?;
    Ok(if sent.replayed {
        warp::reply::with_header(sent.reply, "idempotent-replayed", "true").into_response()
    } else {
        sent.reply
    })
}

#[utoipa::path(get, path = "/api/messages/{id}", tag = "messages", operation_id = "getMessage",
    security(("bearer" = [])),
    params(("id" = i64, Path), FieldsQuery<MessageDetail>),
    responses(
        (status = 200, description = "The message; only `fields` when given", body = MessageDetail),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn show(
    state: AppState,
    user: AuthUser,
    id: i64,
    query: FieldsQuery<MessageDetail>,
) -> ApiResult {
    let fields = query.parse()?;
    let (message, recipients) = messages::find(&state.pool, user.church()?, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message {id} in your church")))?;
    let view = serde_json::to_value(MessageDetail {
        message,
        recipients,
    })
    .map_err(ApiError::internal)?;
    Ok(json_reply(StatusCode::OK, &fields.project(view)))
}

/// By hand because `fields=` may keep any of them: a message's fields and `recipients`, none
/// required.
impl utoipa::PartialSchema for MessageDetail {
    fn schema() -> RefOr<Schema> {
        let mut detail = ObjectBuilder::new().description(Some(
            "A message and each recipient's status; only the `fields` asked for, if any.",
        ));
        if let RefOr::T(Schema::Object(message)) = messages::MessageRow::schema() {
            for (name, property) in message.properties {
                detail = detail.property(name, property);
            }
        }
        detail
            .property(
                "recipients",
                ArrayBuilder::new().items(Ref::from_schema_name("RecipientRow")),
            )
            .into()
    }
}

impl ToSchema for MessageDetail {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("RecipientRow".to_owned(), messages::RecipientRow::schema()));
        messages::RecipientRow::schemas(schemas);
    }
}

/// A message's fields and `recipients`.
impl FieldNames for MessageDetail {
    fn field_names() -> Vec<String> {
        let mut names = messages::MessageRow::field_names();
        names.push("recipients".to_owned());
        names
    }
}

impl FieldNames for messages::MessageRow {}

#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages", operation_id = "cancelMessage",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Cancelled: nothing of it will be sent", body = messages::MessageRow),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`already_started`: not scheduled, or its time came and \
            sending began", body = ErrorBody),
    ))]
async fn cancel(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    let church = user.church()?;
    match messages::cancel(&state.pool, church, id).await? {
        messages::Cancel::Cancelled(message) => {
            state.system.directory().publish(
                church_room(church),
                RoomEvent::MessageCancelled {
                    message_id: id,
                    by: user.user_id,
                },
            );
            Ok(json_reply(StatusCode::OK, &message))
        }
        messages::Cancel::NoSuchMessage => Err(ApiError::not_found(format!(
            "no message {id} in your church"
        ))),
        messages::Cancel::AlreadyStarted(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_started",
            format!(
                "only a scheduled message that has not started can be cancelled; this one is {status}"
            ),
        )),
    }
}
