//! Chat: channels and their members, messages of every chat room, read positions.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use diesel::sql_types::{BigInt, Text};

use super::prepared::Prepare;
use super::schema::{chat_channel_members, chat_channels, chat_messages, users};
use super::{DbError, DbPool, get};
use crate::domain::{ChannelName, ChatBody, ChatRoom};

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = chat_channels)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub created_by: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A stored chat message is the protocol's own type: the socket's `chat:history` and the HTTP
/// pages show the same thing.
pub use belfry_actors::protocol::ChatMessage;

/// The columns of a chat message, in the order of [`message`]'s row.
type MessageColumns = (
    chat_messages::id,
    chat_messages::room,
    chat_messages::user_id,
    chat_messages::body,
    chat_messages::client_id,
    chat_messages::created_at,
    chat_messages::mentions,
);
const MESSAGE_COLUMNS: MessageColumns = (
    chat_messages::id,
    chat_messages::room,
    chat_messages::user_id,
    chat_messages::body,
    chat_messages::client_id,
    chat_messages::created_at,
    chat_messages::mentions,
);
type MessageRow = (
    i64,
    String,
    i64,
    String,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    Vec<i64>,
);

fn message((id, room, user_id, body, client_id, created_at, mentions): MessageRow) -> ChatMessage {
    ChatMessage {
        id,
        room,
        user_id,
        body,
        client_id,
        created_at,
        mentions,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("a channel named {0:?} exists already")]
    NameTaken(String),
    #[error("not users of this church: {0:?}")]
    UnknownUsers(Vec<i64>),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Creates a channel with its members (the creator always among them).
pub async fn create_channel(
    pool: &DbPool,
    church_id: i64,
    name: &ChannelName,
    created_by: i64,
    member_ids: &[i64],
) -> Result<(Channel, Vec<i64>), ChannelError> {
    let mut members: Vec<i64> = member_ids.to_vec();
    members.push(created_by);
    members.sort_unstable();
    members.dedup();
    let mut conn = get(pool).await?;
    let known: Vec<i64> = users::table
        .filter(users::id.eq_any(&members))
        .filter(users::church_id.eq(church_id))
        .select(users::id)
        .load(&mut conn)
        .await
        .map_err(DbError::from)?;
    let unknown: Vec<i64> = members
        .iter()
        .copied()
        .filter(|m| !known.contains(m))
        .collect();
    if !unknown.is_empty() {
        return Err(ChannelError::UnknownUsers(unknown));
    }
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let channel: Channel = diesel::insert_into(chat_channels::table)
                .values((
                    chat_channels::church_id.eq(church_id),
                    chat_channels::name.eq(name.as_str()),
                    chat_channels::created_by.eq(created_by),
                ))
                .returning(Channel::as_returning())
                .get_result(conn)
                .await?;
            let rows: Vec<_> = members
                .iter()
                .map(|m| {
                    (
                        chat_channel_members::channel_id.eq(channel.id),
                        chat_channel_members::user_id.eq(*m),
                    )
                })
                .collect();
            diesel::insert_into(chat_channel_members::table)
                .values(&rows)
                .execute(conn)
                .await?;
            Ok(channel)
        })
        .await
        .map_err(DbError::from);
    match result {
        Ok(channel) => Ok((channel, members)),
        Err(e) if e.is_unique_violation() => Err(ChannelError::NameTaken(name.as_str().to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// The channels a user is a member of, oldest first.
/// The ids of a church's channels.
pub async fn channel_ids_of_church(pool: &DbPool, church_id: i64) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    Ok(chat_channels::table
        .filter(chat_channels::church_id.eq(church_id))
        .select(chat_channels::id)
        .load(&mut conn)
        .await?)
}

pub async fn channels_of(pool: &DbPool, user_id: i64) -> Result<Vec<Channel>, DbError> {
    let mut conn = get(pool).await?;
    Ok(chat_channels::table
        .inner_join(chat_channel_members::table)
        .filter(chat_channel_members::user_id.eq(user_id))
        .order(chat_channels::id.asc())
        .select(Channel::as_select())
        .load(&mut conn)
        .await?)
}

/// Whether a user of `church_id` may read and write in `room`.
pub async fn may_use(
    pool: &DbPool,
    church_id: i64,
    user_id: i64,
    room: ChatRoom,
) -> Result<bool, DbError> {
    match room {
        ChatRoom::Church(id) => Ok(id == church_id),
        ChatRoom::Channel(id) => {
            let mut conn = get(pool).await?;
            let found: Option<i64> = chat_channel_members::table
                .inner_join(chat_channels::table)
                .filter(chat_channel_members::channel_id.eq(id))
                .filter(chat_channel_members::user_id.eq(user_id))
                .filter(chat_channels::church_id.eq(church_id))
                .select(chat_channel_members::user_id)
                .first(&mut conn)
                .await
                .optional()?;
            Ok(found.is_some())
        }
    }
}

/// Stores a message, with the users it mentions. The same `client_id` from the same user again
/// gives back the first message and `false`.
pub async fn insert_message(
    pool: &DbPool,
    church_id: i64,
    room: ChatRoom,
    user_id: i64,
    (body, mentions): (&ChatBody, &[i64]),
    client_id: Option<&str>,
) -> Result<(ChatMessage, bool), DbError> {
    let mut conn = get(pool).await?;
    let room = room.to_string();
    let inserted: Option<MessageRow> = diesel::insert_into(chat_messages::table)
        .values((
            chat_messages::church_id.eq(church_id),
            chat_messages::room.eq(&room),
            chat_messages::user_id.eq(user_id),
            chat_messages::body.eq(body.as_str()),
            chat_messages::client_id.eq(client_id),
            chat_messages::mentions.eq(mentions),
        ))
        .on_conflict_do_nothing()
        .returning(MESSAGE_COLUMNS)
        .get_result(&mut conn)
        .await
        .optional()?;
    if let Some(row) = inserted {
        return Ok((message(row), true));
    }
    let first: MessageRow = chat_messages::table
        .filter(chat_messages::user_id.eq(user_id))
        .filter(chat_messages::client_id.eq(client_id))
        .select(MESSAGE_COLUMNS)
        .first(&mut conn)
        .await?;
    Ok((message(first), false))
}

/// A room's messages older than `before` (all if `None`), newest first.
/// Where a page of a room's messages starts.
#[derive(Debug, Clone, Copy)]
pub enum PageFrom {
    /// The newest messages, newest first.
    Newest,
    /// Messages older than this id, newest first.
    Before(i64),
    /// Messages newer than this id, oldest first: what a client that saw up to it missed.
    After(i64),
}

pub async fn page(
    pool: &DbPool,
    room: ChatRoom,
    from: PageFrom,
    limit: i64,
) -> Result<Vec<ChatMessage>, DbError> {
    let mut conn = get(pool).await?;
    let query = chat_messages::table
        .filter(chat_messages::room.eq(room.to_string()))
        .limit(limit)
        .select(MESSAGE_COLUMNS)
        .into_boxed();
    let query = match from {
        PageFrom::Newest => query.order(chat_messages::id.desc()),
        PageFrom::Before(id) => query
            .filter(chat_messages::id.lt(id))
            .order(chat_messages::id.desc()),
        PageFrom::After(id) => query
            .filter(chat_messages::id.gt(id))
            .order(chat_messages::id.asc()),
    };
    let rows: Vec<MessageRow> = query.load(&mut conn).await?;
    Ok(rows.into_iter().map(message).collect())
}

/// Moves a user's read position in a room forward to `message_id` (never back). Returns
/// whether it moved.
pub async fn mark_read(
    pool: &DbPool,
    room: ChatRoom,
    user_id: i64,
    message_id: i64,
) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let room = room.to_string();
    let moved = diesel::sql_query(
        "INSERT INTO chat_reads (room, user_id, message_id) VALUES ($1, $2, $3)
         ON CONFLICT (room, user_id) DO UPDATE
         SET message_id = EXCLUDED.message_id, updated_at = now()
         WHERE chat_reads.message_id < EXCLUDED.message_id",
    )
    .bind::<Text, _>(&room)
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(message_id)
    .prepared()
    .execute(&mut conn)
    .await?;
    Ok(moved > 0)
}

/// Whether `message_id` is a message of `room`.
pub async fn message_in(pool: &DbPool, room: ChatRoom, message_id: i64) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let found: Option<i64> = chat_messages::table
        .find(message_id)
        .filter(chat_messages::room.eq(room.to_string()))
        .select(chat_messages::id)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
