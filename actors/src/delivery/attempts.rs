//! The attempt marker: moves claimed recipients to `attempting`, durably, just before their
//! workers call the carrier, for many workers in one statement (see [`crate::batcher`]).
//!
//! The mark is what crash recovery reads: a recipient still `claimed` was never sent and is
//! handed out again; one `attempting` may have reached the carrier and is not resent. Each
//! worker waits for its own mark to be committed before it calls, so batching changes only the
//! cost, never that guarantee; with the workers busy it turns one commit per send into one per
//! batch.

use std::sync::Arc;

use crate::Directory;
use crate::batcher::BatchOp;
use crate::ports::{AttemptStart, DeliveryStore, PortFuture, StoreError};

pub struct MarkAttempts {
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
}

impl BatchOp for MarkAttempts {
    type Item = i64;
    type Outcome = AttemptStart;
    const WHAT: &'static str = "attempt marks";
    const MAX_BATCH: usize = 128;

    fn apply(&self, recipients: Vec<i64>) -> PortFuture<'_, Result<Vec<AttemptStart>, StoreError>> {
        self.store.begin_attempts(recipients)
    }

    /// A member who opted out since the message was created ends `skipped`: say so.
    fn applied(&self, start: &AttemptStart) {
        if let AttemptStart::OptedOut(Some(event)) = start {
            self.directory.publish_message_event(event);
        }
    }
}
