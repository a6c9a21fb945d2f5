//! Chat over HTTP: `POST /api/chat/rooms` (admins create channels), `GET /api/chat/rooms` (the
//! rooms the caller may use), `GET /api/chat/{room}/messages` (history: newest first, or
//! oldest first after a message the client saw), `GET /api/chat/people` (the names behind the
//! user ids that chat frames carry). Sending, typing and read receipts go over the socket
//! (`src/gateway/chat.rs`).

use crate::http::registry::endpoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::fields::{self, FieldNames, Fields, FieldsQuery};
use crate::auth::{AuthUser, bearer};
use crate::db::chat::{self, ChannelError, PageFrom};
use crate::domain::{ChannelName, ChatRoom};
use crate::error::{ApiError, ApiResult, ErrorBody, into_response};
use crate::http::schema;
use crate::http::{json_body, json_reply};
use crate::state::AppState;
use crate::state::with_state;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewChannel {
    #[schema(schema_with = schema::channel_name)]
    name: String,
    /// Users of the caller's church who may use the channel (the creator always may).
    #[schema(schema_with = member_ids_schema)]
    member_ids: Vec<i64>,
}

fn member_ids_schema() -> utoipa::openapi::schema::Array {
    schema::ids(0, None)
}

/// A channel just created.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// `channel:{id}`, the name sockets join.
    room: String,
    id: i64,
    name: String,
    created_by: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    member_ids: Vec<i64>,
}

/// A room the caller may use.
#[derive(Serialize, ToSchema)]
pub struct RoomView {
    /// `church:{id}` or `channel:{id}`.
    room: String,
    /// `church` or `channel`.
    kind: &'static str,
    /// A channel's id and name.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RoomList {
    #[schema(schema_with = fields::partial_list::<RoomView>)]
    rooms: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPage {
    #[schema(schema_with = fields::partial_list::<chat::ChatMessage>)]
    messages: serde_json::Value,
    /// Paging newest first: pass as `before` for older messages; `null` on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<Option<i64>>,
    /// Paging after a message: pass as `after` for the next ones; `null` when caught up.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<Option<i64>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Messages older than this id, newest first.
    before: Option<i64>,
    /// Messages newer than this id, oldest first (catching up).
    after: Option<i64>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Comma-separated fields to keep of each message.
    #[param(schema_with = fields::schema::<chat::ChatMessage>)]
    fields: Option<String>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let create = endpoint!(POST, "api" / "chat" / "rooms")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(json_body::<NewChannel>(&state))
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = endpoint!(GET, "api" / "chat" / "rooms")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<FieldsQuery<RoomView>>())
        .then(|state, user, query| async move { into_response(list(state, user, query).await) });
    let history = endpoint!(GET, "api" / "chat" / String / "messages")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .and(warp::query::<PageQuery>())
        .then(|room, state, user, query| async move {
            into_response(history(state, user, room, query).await)
        });
    let people = endpoint!(GET, "api" / "chat" / "people")
        .and(with_state(state.clone()))
        .and(bearer(state.auth.clone()))
        .then(|state, user| async move { into_response(people(state, user).await) });
    create
        .or(list)
        .unify()
        .or(history)
        .unify()
        .or(people)
        .unify()
}

/// Someone a chat frame may name.
#[derive(Serialize, ToSchema)]
pub struct Person {
    id: i64,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct People {
    people: Vec<Person>,
}

#[utoipa::path(get, path = "/api/chat/people", tag = "chat", operation_id = "chatPeople",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's church's users, enabled or not (their old \
            messages still name them), by id: names only", body = People),
        (status = 401, body = ErrorBody),
    ))]
async fn people(state: AppState, user: AuthUser) -> ApiResult {
    let church = user.church()?;
    let people = crate::db::users::list_in_church(&state.pool, church)
        .await?
        .into_iter()
        .map(|row| Person {
            id: row.id,
            name: row.name,
        })
        .collect();
    Ok(json_reply(StatusCode::OK, &People { people }))
}

#[utoipa::path(post, path = "/api/chat/rooms", tag = "chat", operation_id = "createChannel",
    security(("bearer" = [])),
    request_body = NewChannel,
    responses(
        (status = 201, description = "The channel", body = ChannelView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Only admins create channels", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not users of this church", body = ErrorBody),
    ))]
async fn create(state: AppState, user: AuthUser, req: NewChannel) -> ApiResult {
    user.require_admin()?;
    let name = ChannelName::parse(&req.name)
        .map_err(|problem| ApiError::bad_request("invalid_name", format!("name {problem}")))?;
    match chat::create_channel(
        &state.pool,
        user.church()?,
        &name,
        user.user_id,
        &req.member_ids,
    )
    .await
    {
        Ok((channel, members)) => Ok(json_reply(
            StatusCode::CREATED,
            &ChannelView {
                room: ChatRoom::Channel(channel.id).to_string(),
                id: channel.id,
                name: channel.name,
                created_by: channel.created_by,
                created_at: channel.created_at,
                member_ids: members,
            },
        )),
        Err(ChannelError::NameTaken(name)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "channel_exists",
            format!("a channel named {name:?} exists already"),
        )),
        Err(ChannelError::UnknownUsers(ids)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_users",
            format!("not users of this church: {ids:?}"),
        )),
        Err(ChannelError::Db(e)) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/chat/rooms", tag = "chat", operation_id = "listRooms",
    security(("bearer" = [])),
    params(FieldsQuery<RoomView>),
    responses(
        (status = 200, description = "The church room and the caller's channels", body = RoomList),
        (status = 400, description = "Unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
async fn list(state: AppState, user: AuthUser, query: FieldsQuery<RoomView>) -> ApiResult {
    let fields = query.parse()?;
    let mut rooms = vec![RoomView {
        room: ChatRoom::Church(user.church()?).to_string(),
        kind: "church",
        id: None,
        name: None,
    }];
    for channel in chat::channels_of(&state.pool, user.user_id).await? {
        rooms.push(RoomView {
            room: ChatRoom::Channel(channel.id).to_string(),
            kind: "channel",
            id: Some(channel.id),
            name: Some(channel.name),
        });
    }
    Ok(json_reply(
        StatusCode::OK,
        &RoomList {
            rooms: fields.project_all(&rooms)?,
        },
    ))
}

#[utoipa::path(get, path = "/api/chat/{room}/messages", tag = "chat",
    operation_id = "chatHistory",
    security(("bearer" = [])),
    params(("room" = String, Path, description = "`church:{id}` or `channel:{id}`",
        pattern = "^(church|channel):[1-9][0-9]{0,17}$"), PageQuery),
    responses(
        (status = 200, description = "A page of the room's messages", body = ChatPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "No such room for the caller", body = ErrorBody),
    ))]
async fn history(state: AppState, user: AuthUser, room: String, query: PageQuery) -> ApiResult {
    let fields = Fields::parse(query.fields.as_deref(), chat::ChatMessage::field_names)?;
    // Clients encode the colon (`church%3A1`) as a path segment may require.
    let room = percent_encoding::percent_decode_str(&room).decode_utf8_lossy();
    let room = usable_room(&state, &user, &room).await?;
    let limit = super::paging::limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let from = match (query.before, query.after) {
        (None, None) => PageFrom::Newest,
        (Some(before), None) => PageFrom::Before(before),
        (None, Some(after)) => PageFrom::After(after),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_cursor",
                "give before or after, not both",
            ));
        }
    };
    let messages = chat::page(&state.pool, room, from, limit).await?;
    let full = messages.len() as i64 == limit;
    let last = messages.last().map(|m| m.id).filter(|_| full);
    let messages = fields.project_all(&messages)?;
    let body = match from {
        PageFrom::After(_) => ChatPage {
            messages,
            next_before: None,
            next_after: Some(last),
        },
        _ => ChatPage {
            messages,
            next_before: Some(last),
            next_after: None,
        },
    };
    Ok(json_reply(StatusCode::OK, &body))
}

/// The chat room named, if the user may use it; another church's room or a channel the user
/// is not in is `404`, as if it did not exist.
pub async fn usable_room(
    state: &AppState,
    user: &AuthUser,
    name: &str,
) -> Result<ChatRoom, ApiError> {
    let room = ChatRoom::parse(name).ok_or_else(|| {
        ApiError::bad_request("invalid_room", "a chat room is church:{id} or channel:{id}")
    })?;
    if !chat::may_use(&state.pool, user.church()?, user.user_id, room).await? {
        return Err(ApiError::not_found(format!("no chat room {room}")));
    }
    Ok(room)
}

impl FieldNames for RoomView {}
impl FieldNames for chat::ChatMessage {}
