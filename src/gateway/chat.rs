//! Chat frames on a socket: joining and leaving channels, sending messages (persisted, then
//! broadcast, then acknowledged to the sender), read receipts, typing, and the stored messages
//! a client missed beyond its rooms' in-memory history.

use std::sync::Arc;

use belfry_actors::ports::EventSink;
use belfry_actors::protocol::{ChatMessageEvent, ClientFrame, Frame, RoomEvent};

use super::frames::FrameError;
use super::session::{Ending, Session};
use super::upgrade::Socket;
use crate::auth::AuthUser;
use crate::db::chat::{self, PageFrom};
use crate::db::chat_mentions;
use crate::domain::{ChatBody, ChatRoom};
use crate::mentions::MAX_MENTIONS;

/// What a `chat:send` frame says.
struct Said<'a> {
    body: &'a str,
    client_id: &'a str,
    mentions: Vec<i64>,
}

/// The longest `clientId` accepted.
const MAX_CLIENT_ID: usize = 64;
/// Messages in one `chat:history` answer unless the client asks for fewer.
const HISTORY_PAGE: i64 = 50;
/// Bodies in one `chat:history` answer stop at about this many bytes, so that the frame stays
/// well inside a socket's write buffer; `more` says there is more to ask for.
const HISTORY_FRAME_BYTES: usize = 128 * 1024;

impl Session {
    pub(super) async fn on_chat(&mut self, frame: ClientFrame, socket: &mut Socket) -> Ending {
        let user = self.user.clone()?;
        let outcome = match frame {
            ClientFrame::ChatJoin { room } => self.join_channel(&user, &room).await,
            ClientFrame::ChatLeave { room } => self.leave_channel(&user, &room),
            ClientFrame::ChatSend {
                room,
                body,
                client_id,
                mentions,
            } => {
                let said = Said {
                    body: &body,
                    client_id: &client_id,
                    mentions,
                };
                self.send_chat(&user, &room, said, socket).await
            }
            ClientFrame::ChatRead { room, message_id } => {
                self.read_up_to(&user, &room, message_id).await
            }
            ClientFrame::ChatHistory { room, after, limit } => {
                self.history_after(&room, after, limit, socket).await
            }
            ClientFrame::TypingStart { room } => self.typing(&user, &room, true),
            ClientFrame::TypingStop { room } => self.typing(&user, &room, false),
            ClientFrame::Auth { .. } | ClientFrame::Resume { .. } | ClientFrame::Ping { .. } => {
                Ok(None)
            }
        };
        match outcome {
            Ok(ending) => {
                self.forgive();
                ending
            }
            Err(error) => self.refuse(&error, socket).await,
        }
    }

    /// The chat room a frame names, which this socket must be in.
    fn joined_chat_room(&self, room: &str) -> Result<ChatRoom, FrameError> {
        let chat_room = ChatRoom::parse(room).ok_or_else(|| {
            FrameError::new("invalid_room", "a chat room is church:{id} or channel:{id}")
        })?;
        if !self.rooms.iter().any(|r| r == room) {
            return Err(FrameError::new(
                "not_in_room",
                format!("this socket is not in {room:?}; send chat:join first"),
            ));
        }
        Ok(chat_room)
    }

    async fn join_channel(&mut self, user: &AuthUser, room: &str) -> Result<Ending, FrameError> {
        let chat_room = ChatRoom::parse(room)
            .filter(|r| matches!(r, ChatRoom::Channel(_)))
            .ok_or_else(|| FrameError::new("invalid_room", "channels are channel:{id}"))?;
        if self.rooms.iter().any(|r| r == room) {
            return Ok(None);
        }
        let allowed = chat::may_use(&self.state.pool, church_of(user)?, user.user_id, chat_room)
            .await
            .map_err(|_| FrameError::new("unavailable", "try again later"))?;
        if !allowed {
            return Err(FrameError::new(
                "forbidden",
                format!("you are not a member of {room}"),
            ));
        }
        let directory = self.state.system.directory();
        directory.join(
            room.to_owned(),
            self.conn,
            self.sink.clone() as Arc<dyn EventSink>,
            None,
        );
        self.rooms.push(room.to_owned());
        let joined = RoomEvent::ChatJoined {
            user_id: user.user_id,
        };
        directory.publish(room.to_owned(), joined);
        Ok(None)
    }

    fn leave_channel(&mut self, user: &AuthUser, room: &str) -> Result<Ending, FrameError> {
        if !matches!(ChatRoom::parse(room), Some(ChatRoom::Channel(_))) {
            return Err(FrameError::new("invalid_room", "only channels can be left"));
        }
        let Some(at) = self.rooms.iter().position(|r| r == room) else {
            return Err(FrameError::new("not_in_room", format!("not in {room:?}")));
        };
        self.rooms.remove(at);
        let directory = self.state.system.directory();
        let left = RoomEvent::ChatLeft {
            user_id: user.user_id,
        };
        directory.publish(room.to_owned(), left);
        directory.leave(room.to_owned(), self.conn);
        Ok(None)
    }

    async fn send_chat(
        &mut self,
        user: &AuthUser,
        room: &str,
        said: Said<'_>,
        socket: &mut Socket,
    ) -> Result<Ending, FrameError> {
        let Said {
            body,
            client_id,
            mentions,
        } = said;
        let chat_room = self.joined_chat_room(room)?;
        let body = ChatBody::parse(body)
            .map_err(|problem| FrameError::new("invalid_body", format!("body {problem}")))?;
        if client_id.is_empty()
            || client_id.len() > MAX_CLIENT_ID
            || client_id.chars().any(char::is_control)
        {
            return Err(FrameError::new(
                "invalid_client_id",
                format!("clientId must be 1 to {MAX_CLIENT_ID} bytes"),
            ));
        }
        let church = church_of(user)?;
        let mentions = self
            .mentionable(church, chat_room, user.user_id, mentions)
            .await?;
        let (message, new) = chat::insert_message(
            &self.state.pool,
            church,
            chat_room,
            user.user_id,
            (&body, &mentions),
            Some(client_id),
        )
        .await
        .map_err(|_| FrameError::new("unavailable", "the message was not stored; send it again"))?;
        let ack = Frame::ChatAck {
            client_id: client_id.to_owned(),
            id: message.id,
            room: room.to_owned(),
            created_at: message.created_at,
            duplicate: !new,
        };
        if new {
            let after = self.state.gateway.mention_after;
            crate::mentions::follow_up(&self.state, church, chat_room, message.clone(), after);
            let posted = RoomEvent::ChatMessage(ChatMessageEvent::from(message));
            self.state
                .system
                .directory()
                .publish(room.to_owned(), posted);
        }
        Ok(self.send(socket, &ack).await)
    }

    /// The users a message mentions, each once, without its author: every one must be able
    /// to read the room.
    async fn mentionable(
        &self,
        church: i64,
        room: ChatRoom,
        author: i64,
        mut mentions: Vec<i64>,
    ) -> Result<Vec<i64>, FrameError> {
        mentions.sort_unstable();
        mentions.dedup();
        mentions.retain(|id| *id != author);
        if mentions.is_empty() {
            return Ok(mentions);
        }
        if mentions.len() > MAX_MENTIONS {
            return Err(FrameError::new(
                "invalid_mentions",
                format!("a message mentions at most {MAX_MENTIONS} people"),
            ));
        }
        let found = chat_mentions::mentionable(&self.state.pool, church, room, &mentions)
            .await
            .map_err(|_| FrameError::new("unavailable", "try again later"))?;
        if found.len() != mentions.len() {
            let strangers: Vec<i64> = mentions
                .into_iter()
                .filter(|id| !found.contains(id))
                .collect();
            return Err(FrameError::new(
                "invalid_mentions",
                format!("these users cannot read {room}: {strangers:?}"),
            ));
        }
        Ok(found)
    }

    async fn read_up_to(
        &mut self,
        user: &AuthUser,
        room: &str,
        message_id: i64,
    ) -> Result<Ending, FrameError> {
        let chat_room = self.joined_chat_room(room)?;
        let unavailable = |_| FrameError::new("unavailable", "try again later");
        if !chat::message_in(&self.state.pool, chat_room, message_id)
            .await
            .map_err(unavailable)?
        {
            return Err(FrameError::new(
                "unknown_message",
                format!("no message {message_id} in {room}"),
            ));
        }
        let moved = chat::mark_read(&self.state.pool, chat_room, user.user_id, message_id)
            .await
            .map_err(unavailable)?;
        if moved {
            let read = RoomEvent::ChatRead {
                user_id: user.user_id,
                message_id,
            };
            self.state.system.directory().publish(room.to_owned(), read);
        }
        Ok(None)
    }

    async fn history_after(
        &mut self,
        room: &str,
        after: i64,
        limit: Option<i64>,
        socket: &mut Socket,
    ) -> Result<Ending, FrameError> {
        let chat_room = self.joined_chat_room(room)?;
        let limit = limit.unwrap_or(HISTORY_PAGE);
        if !(1..=HISTORY_PAGE).contains(&limit) {
            return Err(FrameError::new(
                "invalid_limit",
                format!("limit must be 1 to {HISTORY_PAGE}"),
            ));
        }
        let mut messages = chat::page(&self.state.pool, chat_room, PageFrom::After(after), limit)
            .await
            .map_err(|_| FrameError::new("unavailable", "try again later"))?;
        let mut more = messages.len() as i64 == limit;
        let mut bytes = 0;
        if let Some(cut) = messages.iter().position(|m| {
            bytes += m.body.len() + 128;
            bytes > HISTORY_FRAME_BYTES
        }) {
            // At least one message per answer, so that a client always gets further.
            messages.truncate(cut.max(1));
            more = true;
        }
        let answer = Frame::ChatHistory {
            room: room.to_owned(),
            messages,
            more,
        };
        Ok(self.send(socket, &answer).await)
    }

    fn typing(&mut self, user: &AuthUser, room: &str, typing: bool) -> Result<Ending, FrameError> {
        self.joined_chat_room(room)?;
        self.state
            .system
            .directory()
            .typing(room.to_owned(), user.user_id, typing);
        Ok(None)
    }
}

/// Chat is within a church: an operator of none has no chat rooms.
fn church_of(user: &AuthUser) -> Result<i64, FrameError> {
    user.church_id
        .ok_or_else(|| FrameError::new("no_church", "this account belongs to no church"))
}
