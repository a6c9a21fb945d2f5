//! The dead-letter queue: recipients that could not be delivered are persisted for review and
//! announced to the church as `message:failed`; the church's admins are told that dead letters
//! are collecting, at most once an hour (a `low` system notification, so a digest can gather
//! it), however many there are.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::Directory;
use crate::ports::{Audience, DeadLetter, DeliveryStore, NewNotification};
use crate::protocol::{Category, Priority};
use crate::stats::{ActorStats, Mailbox};

pub enum DlqMsg {
    Add(DeadLetter),
    /// A store write failed earlier and is tried again.
    Persist {
        letter: DeadLetter,
        tries: u32,
    },
}

pub struct DeadLetterQueue;

pub struct DlqArgs {
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
}

pub struct DlqState {
    args: DlqArgs,
    /// Each church's admins were last told in this hour (UTC, truncated).
    told: HashMap<i64, DateTime<Utc>>,
}

/// The hour `at` falls in.
fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at)
}

/// What a church's admins are told when dead letters collect in `hour`. Its `dedup_key` keeps
/// it to one an hour for each of them whichever node tells them.
pub fn collecting(church_id: i64, message_id: i64, hour: DateTime<Utc>) -> NewNotification {
    NewNotification {
        category: Category::System,
        priority: Priority::Low,
        title: "Dead letters are collecting".to_owned(),
        body: "Some recipients could not be delivered and are waiting in the dead-letter queue. \
               Review them on the Dashboard: retry them or discard them."
            .to_owned(),
        data: serde_json::json!({ "messageId": message_id }),
        church_id: Some(church_id),
        dedup_key: Some(format!("dead-letters:{}", hour.format("%Y-%m-%dT%H"))),
    }
}

const STORE_RETRY_WAIT: Duration = Duration::from_secs(1);
const STORE_TRIES: u32 = 30;

impl Actor for DeadLetterQueue {
    type Msg = DlqMsg;
    type State = DlqState;
    type Arguments = DlqArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: DlqArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(DlqState {
            args,
            told: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.record_handled();
        let (letter, tries) = match msg {
            DlqMsg::Add(letter) => (letter, 1),
            DlqMsg::Persist { letter, tries } => (letter, tries),
        };
        match state.args.store.dead_letter(letter.clone()).await {
            Ok(Some(event)) => {
                state.args.directory.publish_message_event(&event);
                let hour = hour_of(Utc::now());
                if state.told.get(&event.church_id) != Some(&hour) {
                    state.told.insert(event.church_id, hour);
                    state.told.retain(|_, told| *told == hour);
                    state.args.directory.notify(
                        Audience::ChurchAdmins(event.church_id),
                        collecting(event.church_id, event.message_id, hour),
                    );
                }
            }
            Ok(None) => {}
            Err(err) if tries < STORE_TRIES => {
                tracing::warn!(recipient = letter.recipient_id, %err, tries, "dead letter not stored yet; will retry");
                let mailbox = Mailbox::new(myself, Arc::clone(&state.args.stats));
                tokio::spawn(async move {
                    tokio::time::sleep(STORE_RETRY_WAIT).await;
                    mailbox.send(DlqMsg::Persist {
                        letter,
                        tries: tries + 1,
                    });
                });
            }
            Err(err) => {
                state.args.stats.record_failure();
                tracing::error!(recipient = letter.recipient_id, reason = %letter.reason, %err, "dead letter could not be stored");
            }
        }
        Ok(())
    }
}
