//! Chat @mentions: someone named in a chat message who has not read it a little later
//! (`BELFRY_MENTION_AFTER_MS`, 15 s) is told in a `chat` notification. Reading is what the
//! room's read marks say (`chat:read`), so a person looking at the room, whose client marks
//! what arrives as read, is not disturbed, and one who is away is. The notice's dedup key is
//! the message's, so however often it is looked at, each person is told once.
//!
//! The wait is a timer of the node that stored the message: a node that stops during it
//! loses those notices (the mention stays in the message for anyone reading the room).

use std::time::Duration;

use belfry_actors::ports::Audience;
use belfry_actors::protocol::ChatMessage;

use crate::db::chat_mentions;
use crate::domain::ChatRoom;
use crate::notices;
use crate::state::AppState;

/// Most people one message may mention.
pub const MAX_MENTIONS: usize = 20;

/// After `after`, tells those `message` mentions who have not read it by then.
pub fn follow_up(
    state: &AppState,
    church_id: i64,
    room: ChatRoom,
    message: ChatMessage,
    after: Duration,
) {
    if message.mentions.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if let Err(e) = tell_unread(&state, church_id, room, &message).await {
            tracing::warn!(message = message.id, error = %e, "mention notices not made");
        }
    });
}

async fn tell_unread(
    state: &AppState,
    church_id: i64,
    room: ChatRoom,
    message: &ChatMessage,
) -> Result<(), crate::db::DbError> {
    let unread = chat_mentions::unread_by(&state.pool, room, &message.mentions, message.id).await?;
    if unread.is_empty() {
        return Ok(());
    }
    let (author, channel) = chat_mentions::names(&state.pool, message.user_id, room).await?;
    let notice = notices::mentioned(
        church_id,
        (&author, message.user_id),
        (&message.room, channel.as_deref()),
        message.id,
        &message.body,
    );
    state
        .system
        .directory()
        .notify(Audience::Users(unread), notice);
    Ok(())
}
