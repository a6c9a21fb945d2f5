//! Chat over HTTP: `POST /api/chat/rooms` (admins create channels), `GET /api/chat/rooms` (the
//! rooms the caller may use), `GET /api/chat/{room}/messages` (history: newest first, or
//! oldest first after a message the client saw). Sending,
//! typing and read receipts go over the socket (`src/gateway/chat.rs`).

use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json_body, json_reply, with_state};
use crate::app::AppState;
use crate::auth::{AuthUser, bearer};
use crate::db::chat::{self, ChannelError, PageFrom};
use crate::domain::{ChannelName, ChatRoom};
use crate::error::{ApiError, ApiResult, into_response};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewChannel {
    name: String,
    member_ids: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    before: Option<i64>,
    after: Option<i64>,
    limit: Option<i64>,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let rooms = warp::path!("api" / "chat" / "rooms")
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()));
    let create = rooms
        .clone()
        .and(warp::post())
        .and(json_body::<NewChannel>())
        .then(|state, user, req| async move { into_response(create(state, user, req).await) });
    let list = rooms
        .and(warp::get())
        .then(|state, user| async move { into_response(list(state, user).await) });
    let history = warp::path!("api" / "chat" / String / "messages")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(bearer(state.jwt.clone()))
        .and(warp::query::<PageQuery>())
        .then(|room, state, user, query| async move {
            into_response(history(state, user, room, query).await)
        });
    create.or(list).unify().or(history).unify()
}

async fn create(state: AppState, user: AuthUser, req: NewChannel) -> ApiResult {
    user.require_admin()?;
    let name = ChannelName::parse(&req.name)
        .map_err(|problem| ApiError::bad_request("invalid_name", format!("name {problem}")))?;
    match chat::create_channel(
        &state.pool,
        user.church_id,
        &name,
        user.user_id,
        &req.member_ids,
    )
    .await
    {
        Ok((channel, members)) => Ok(json_reply(
            StatusCode::CREATED,
            &serde_json::json!({
                "room": ChatRoom::Channel(channel.id).to_string(),
                "id": channel.id,
                "name": channel.name,
                "createdBy": channel.created_by,
                "createdAt": channel.created_at,
                "memberIds": members,
            }),
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

async fn list(state: AppState, user: AuthUser) -> ApiResult {
    let mut rooms = vec![serde_json::json!({
        "room": ChatRoom::Church(user.church_id).to_string(),
        "kind": "church",
    })];
    for channel in chat::channels_of(&state.pool, user.user_id).await? {
        rooms.push(serde_json::json!({
            "room": ChatRoom::Channel(channel.id).to_string(),
            "kind": "channel",
            "id": channel.id,
            "name": channel.name,
        }));
    }
    Ok(json_reply(
        StatusCode::OK,
        &serde_json::json!({ "rooms": rooms }),
    ))
}

async fn history(state: AppState, user: AuthUser, room: String, query: PageQuery) -> ApiResult {
    let room = usable_room(&state, &user, &room).await?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
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
    let body = match from {
        PageFrom::After(_) => serde_json::json!({ "messages": messages, "nextAfter": last }),
        _ => serde_json::json!({ "messages": messages, "nextBefore": last }),
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
    if !chat::may_use(&state.pool, user.church_id, user.user_id, room).await? {
        return Err(ApiError::not_found(format!("no chat room {room}")));
    }
    Ok(room)
}
