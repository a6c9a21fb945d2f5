//! The notifier: tells people what happened. A notification is stored first (by whoever made
//! it, or here through the [`NotificationStore`] port for what happens inside the tree, such as
//! the breaker opening); then the notifier pushes it to its user's room `user:{id}` as
//! `notification:new` with the user's counts, so every tab of theirs shows it. Changes a user
//! makes (read, archived, seen) are pushed the same way, so their other tabs follow.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::Directory;
use crate::ports::{Announcement, Audience, NewNotification, NotificationStore};
use crate::protocol::{BulkProgress, NotificationCounts, NotificationUpdate, RoomEvent, user_room};
use crate::stats::ActorStats;

/// Recipients of a send announced in one turn; the rest wait behind what else the notifier
/// has to do, so a send to thousands does not hold up one person's notification.
const SEND_CHUNK: usize = 500;

/// An admin's send to many people, stored, being announced chunk by chunk.
pub struct BulkSend {
    /// Who sent it: their sockets follow its progress.
    pub sender_id: i64,
    pub progress: BulkProgress,
    /// Those not announced to yet, in order.
    pub pending: Vec<Announcement>,
}

pub enum NotifierMsg {
    /// Stored notifications to push to their users.
    Announce(Vec<Announcement>),
    /// A stored send to many people: announced in chunks, its sender told how far it got.
    AnnounceSend(BulkSend),
    /// A user changed some of their notifications.
    Changed {
        user_id: i64,
        update: NotificationUpdate,
        counts: NotificationCounts,
    },
    /// Something happened in the tree that people should hear about: store it, then push it.
    Notify {
        audience: Audience,
        notification: NewNotification,
    },
}

pub struct Notifier;

pub struct NotifierArgs {
    pub store: Arc<dyn NotificationStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
}

impl Actor for Notifier {
    type Msg = NotifierMsg;
    type State = NotifierArgs;
    type Arguments = NotifierArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: NotifierArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.record_handled();
        match msg {
            NotifierMsg::Announce(announcements) => announce(&state.directory, announcements),
            NotifierMsg::AnnounceSend(mut send) => {
                let rest = send.pending.split_off(send.pending.len().min(SEND_CHUNK));
                send.progress.announced += send.pending.len() as i64;
                send.progress.done = rest.is_empty();
                announce(&state.directory, std::mem::replace(&mut send.pending, rest));
                state.directory.publish(
                    user_room(send.sender_id),
                    RoomEvent::NotificationBulkProgress(send.progress.clone()),
                );
                if !send.progress.done {
                    myself.send_message(NotifierMsg::AnnounceSend(send))?;
                }
            }
            NotifierMsg::Changed {
                user_id,
                update,
                counts,
            } => {
                let room = user_room(user_id);
                let directory = &state.directory;
                directory.publish(room.clone(), RoomEvent::NotificationUpdated(update));
                directory.publish(room, RoomEvent::NotificationCounts(counts));
            }
            NotifierMsg::Notify {
                audience,
                notification,
            } => match state.store.create(audience, notification.clone()).await {
                Ok(announcements) => announce(&state.directory, announcements),
                Err(err) => {
                    // Nothing was stored, so nothing is announced: a notification nobody can
                    // find in their inbox is not pushed either.
                    state.stats.record_failure();
                    tracing::error!(title = %notification.title, %err, "notification not stored");
                }
            },
        }
        Ok(())
    }
}

fn announce(directory: &Directory, announcements: Vec<Announcement>) {
    for Announcement {
        user_id,
        notification,
        counts,
        push,
        quiet,
    } in announcements
    {
        let room = user_room(user_id);
        if push {
            directory.publish(
                room.clone(),
                RoomEvent::NotificationNew {
                    notification,
                    quiet,
                },
            );
        }
        directory.publish(room, RoomEvent::NotificationCounts(counts));
    }
}
