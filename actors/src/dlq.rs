//! The dead-letter queue: recipients that could not be delivered are persisted for review and
//! announced to the church as `message:failed`.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::Directory;
use crate::ports::{DeadLetter, DeliveryStore};
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
        Ok(DlqState { args })
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
            Ok(Some(event)) => state.args.directory.publish_message_event(&event),
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
