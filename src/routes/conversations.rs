//! `/api/conversations`: the church's two-way texts. Each phone that replied has one
//! conversation: its thread holds what the church sent that phone (broadcasts and replies,
//! with their delivery status) and what the phone sent back. Staff reply through the same
//! pipeline as a broadcast (limits, breaker, outbox, status events) and mark conversations
//! read; both reach the church's room as `conversation:message` and `conversation:read`.

use std::net::IpAddr;

use belfry_actors::protocol::{ConversationLine, RoomEvent, church_room};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::outgoing::{self, BODY_CONTROLS, MAX_BODY_CHARS};
use crate::auth::{AuthUser, bearer};
use crate::db::conversations::{self, ConversationRow};
use crate::db::cursor::Cursor;
use crate::db::members;
use crate::db::new_message::Audience;
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::registry::endpoint;
use crate::http::{json_body, json_reply, schema};
use crate::limits::http::{client_ip, with_headers};
use crate::state::{AppState, with_state};

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;
const DEFAULT_THREAD: i64 = 50;
const MAX_THREAD: i64 = 200;

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let staff = with_state(state.clone()).and(bearer(state.auth.clone()));
    let list = endpoint!(GET, "api" / "conversations")
        .and(staff.clone())
        .and(warp::query::<ListQuery>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    let thread = endpoint!(GET, "api" / "conversations" / i64 / "messages")
        .and(staff.clone())
        .and(warp::query::<ThreadQuery>())
        .then(|id, state, user, query| async move {
            into_response(thread(state, user, id, query).await)
        });
    let reply = endpoint!(POST, "api" / "conversations" / i64 / "messages")
        .and(with_state(state.clone()))
        .and(client_ip(&state.limits))
        .and(bearer(state.auth.clone()))
        .and(json_body::<ReplyRequest>(&state))
        .then(|id, state, client, user, req| async move {
            into_response(reply(state, client, user, id, req).await)
        });
    let read = endpoint!(POST, "api" / "conversations" / i64 / "read")
        .and(staff)
        .then(|id, state, user| async move { into_response(read(state, user, id).await) });
    list.or(thread).unify().or(reply).unify().or(read).unify()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true`: only conversations with unread texts.
    unread: Option<bool>,
    /// A `nextCursor` from the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    before: Option<String>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastLine {
    /// `inbound`, `outbound` or `system`.
    direction: String,
    body: String,
    at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    id: i64,
    /// The church's member with this phone; `null` for a phone that is no member (add them).
    member_id: Option<i64>,
    member_name: Option<String>,
    phone: String,
    last_message: LastLine,
    /// Texts from the phone since someone last read the conversation.
    unread: i64,
    updated_at: DateTime<Utc>,
}

impl From<ConversationRow> for ConversationView {
    fn from(row: ConversationRow) -> Self {
        Self {
            id: row.id,
            member_id: row.member_id,
            member_name: row.member_name,
            phone: row.phone,
            last_message: LastLine {
                direction: row.last_direction,
                body: row.last_body,
                at: row.last_at,
            },
            unread: i64::from(row.unread),
            updated_at: row.last_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    conversations: Vec<ConversationView>,
    /// Pass as `before` for the next page; `null` on the last.
    next_cursor: Option<String>,
    /// Unread texts in all of the church's conversations.
    unread_total: i64,
}

#[utoipa::path(get, path = "/api/conversations", tag = "conversations", operation_id = "listConversations",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The church's conversations, most recent first", body = ConversationPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, query: ListQuery) -> ApiResult {
    let church = user.church()?;
    let limit = super::paging::limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let before = query
        .before
        .as_deref()
        .map(|c| {
            Cursor::decode(c).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "pass back a nextCursor as it was given")
            })
        })
        .transpose()?;
    let rows = conversations::list(
        &state.pool,
        church,
        query.unread.unwrap_or(false),
        before,
        limit,
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|c| Cursor::after(c.last_at, c.id).encode()))
        .flatten();
    Ok(json_reply(
        StatusCode::OK,
        &ConversationPage {
            conversations: rows.into_iter().map(ConversationView::from).collect(),
            next_cursor,
            unread_total: conversations::unread_total(&state.pool, church).await?,
        },
    ))
}

/// The church's conversation `id`, or `404`.
async fn conversation_of(
    state: &AppState,
    user: &AuthUser,
    id: i64,
) -> Result<ConversationRow, ApiError> {
    conversations::find(&state.pool, user.church()?, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no conversation {id} in your church")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ThreadQuery {
    /// A `nextBefore` from the previous page: older lines than it.
    #[param(schema_with = schema::id)]
    before: Option<i64>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// Oldest first.
    messages: Vec<ConversationLine>,
    /// Pass as `before` for older lines; `null` when there are none.
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "conversations",
    operation_id = "conversationThread",
    security(("bearer" = [])),
    params(("id" = i64, Path), ThreadQuery),
    responses(
        (status = 200, description = "The thread's newest lines (or those before `before`), \
            oldest first: what the phone sent, what the church sent it with each delivery \
            status, and system lines", body = Thread),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation in the caller's church", body = ErrorBody),
    ))]
async fn thread(state: AppState, user: AuthUser, id: i64, query: ThreadQuery) -> ApiResult {
    let limit = super::paging::limit(query.limit, DEFAULT_THREAD, MAX_THREAD)?;
    let conversation = conversation_of(&state, &user, id).await?;
    let messages = conversations::thread(&state.pool, conversation.id, query.before, limit).await?;
    let next_before = (messages.len() as i64 == limit)
        .then(|| messages.first().map(|line| line.id))
        .flatten();
    Ok(json_reply(
        StatusCode::OK,
        &Thread {
            messages,
            next_before,
        },
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    #[schema(schema_with = reply_body_schema)]
    body: String,
    /// Admins: send even during the church's quiet hours; otherwise a reply that would start
    /// inside them waits for their end (`heldForQuietHours` in the answer).
    #[serde(default)]
    urgent: bool,
}

fn reply_body_schema() -> utoipa::openapi::schema::Object {
    schema::text(MAX_BODY_CHARS, BODY_CONTROLS)
}

#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "conversations",
    operation_id = "replyInConversation",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = ReplyRequest,
    responses(
        (status = 202, description = "Stored and queued, like a broadcast to this one member",
            body = crate::db::new_message::SendReceipt,
            headers(("RateLimit" = String), ("RateLimit-Policy" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`urgent` from someone who is not an admin", body = ErrorBody),
        (status = 404, description = "No such conversation in the caller's church", body = ErrorBody),
        (status = 409, description = "`not_a_member`: add the phone as a member first; \
            `member_opted_out`: they replied STOP", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "The sender's `sms` limit, or the church's daily recipients", body = ErrorBody),
    ))]
async fn reply(
    state: AppState,
    client: Option<IpAddr>,
    user: AuthUser,
    id: i64,
    req: ReplyRequest,
) -> ApiResult {
    let body = outgoing::body(&req.body)?;
    let conversation = conversation_of(&state, &user, id).await?;
    let Some(member_id) = conversation.member_id else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_member",
            format!(
                "{} is not a member of your church: add them as a member to reply",
                conversation.phone
            ),
        ));
    };
    if members::is_opted_out(&state.pool, member_id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "member_opted_out",
            "they replied STOP: nothing can be sent to them until they reply START",
        ));
    }
    let sms = outgoing::check_sms_limit(&state, client, &user).await?;
    let timing = outgoing::Timing {
        send_at: None,
        urgent: req.urgent,
    };
    let sent = outgoing::create(
        &state,
        &user,
        body,
        Audience::members(&[member_id]),
        (outgoing::Kind::ConversationReply, timing),
        None,
    )
    .await?;
    Ok(with_headers(sent.reply, sms.as_ref()))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    conversation_id: i64,
    unread: i64,
    unread_total: i64,
}

#[utoipa::path(post, path = "/api/conversations/{id}/read", tag = "conversations",
    operation_id = "readConversation",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Read: its unread count is 0", body = ReadReceipt),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such conversation in the caller's church", body = ErrorBody),
    ))]
async fn read(state: AppState, user: AuthUser, id: i64) -> ApiResult {
    let church = user.church()?;
    let unread_total = conversations::mark_read(&state.pool, church, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no conversation {id} in your church")))?;
    state.system.directory().publish(
        church_room(church),
        RoomEvent::ConversationRead {
            conversation_id: id,
            by: user.user_id,
            unread_total,
        },
    );
    Ok(json_reply(
        StatusCode::OK,
        &ReadReceipt {
            conversation_id: id,
            unread: 0,
            unread_total,
        },
    ))
}
