//! Mentions in chat: who a message may mention (people who can read its room), and which of
//! those it mentioned have still not read it.

use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};
use crate::domain::ChatRoom;

#[derive(diesel::QueryableByName)]
struct UserId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Those of `ids` who can read `room` of church `church_id` (its people for the church's room,
/// the channel's members for a channel), and whose account is not disabled.
pub async fn mentionable(
    pool: &DbPool,
    church_id: i64,
    room: ChatRoom,
    ids: &[i64],
) -> Result<Vec<i64>, DbError> {
    let channel = match room {
        ChatRoom::Church(id) if id != church_id => return Ok(Vec::new()),
        ChatRoom::Church(_) => None,
        ChatRoom::Channel(id) => Some(id),
    };
    let mut conn = get(pool).await?;
    let found: Vec<UserId> = diesel::sql_query(
        "SELECT u.id FROM users u \
         WHERE u.id = ANY($1) AND u.church_id = $2 AND u.disabled_at IS NULL \
             AND ($3::bigint IS NULL OR EXISTS ( \
                 SELECT 1 FROM chat_channel_members m JOIN chat_channels c ON c.id = m.channel_id \
                 WHERE m.channel_id = $3 AND c.church_id = $2 AND m.user_id = u.id)) \
         ORDER BY u.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<BigInt, _>(church_id)
    .bind::<Nullable<BigInt>, _>(channel)
    .load(&mut conn)
    .await?;
    Ok(found.into_iter().map(|u| u.id).collect())
}

/// Those of `users` whose read mark in `room` has not reached `message_id`.
pub async fn unread_by(
    pool: &DbPool,
    room: ChatRoom,
    users: &[i64],
    message_id: i64,
) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    let found: Vec<UserId> = diesel::sql_query(
        "SELECT u AS id FROM unnest($1::bigint[]) AS u \
         WHERE NOT EXISTS (SELECT 1 FROM chat_reads r \
             WHERE r.room = $2 AND r.user_id = u AND r.message_id >= $3) \
         ORDER BY u",
    )
    .bind::<Array<BigInt>, _>(users)
    .bind::<Text, _>(room.to_string())
    .bind::<BigInt, _>(message_id)
    .load(&mut conn)
    .await?;
    Ok(found.into_iter().map(|u| u.id).collect())
}

/// The name of a chat message's author, and of its channel (`None` for the church's room),
/// for the notice.
pub async fn names(
    pool: &DbPool,
    author: i64,
    room: ChatRoom,
) -> Result<(String, Option<String>), DbError> {
    #[derive(diesel::QueryableByName)]
    struct Names {
        #[diesel(sql_type = Text)]
        author: String,
        #[diesel(sql_type = Nullable<Text>)]
        channel: Option<String>,
    }
    let channel = match room {
        ChatRoom::Channel(id) => Some(id),
        ChatRoom::Church(_) => None,
    };
    let mut conn = get(pool).await?;
    let found: Names = diesel::sql_query(
        "SELECT u.name AS author, c.name AS channel FROM users u \
         LEFT JOIN chat_channels c ON c.id = $2 WHERE u.id = $1",
    )
    .bind::<BigInt, _>(author)
    .bind::<Nullable<BigInt>, _>(channel)
    .get_result(&mut conn)
    .await?;
    Ok((found.author, found.channel))
}
