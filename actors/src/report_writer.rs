//! The report writer: applies what moves recipients forward (the carrier's acceptance of a
//! send, and its webhooks) to the database in batches (see [`crate::batcher`]).
//!
//! Both arrive thousands per second during a broadcast. Applied one by one, each costs a
//! transaction of several round trips; batched, a transaction of a few statements carries many.
//! A webhook's caller waits for its outcome, so no webhook is acknowledged to the carrier
//! before it is committed. A sender worker does not wait for its acceptance to be recorded:
//! the send is over either way (a crash before the commit leaves the recipient `attempting`,
//! which recovery dead-letters), and not waiting lets it take its next job at once. Applied
//! changes are published in the order they were applied.

use std::sync::Arc;

use crate::Directory;
use crate::batcher::BatchOp;
use crate::ports::{DeliveryStore, PortFuture, Report, ReportOutcome, StoreError};

pub struct ApplyReports {
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
}

impl BatchOp for ApplyReports {
    type Item = Report;
    type Outcome = ReportOutcome;
    const WHAT: &'static str = "carrier reports";
    const MAX_BATCH: usize = 256;

    fn apply(
        &self,
        reports: Vec<Report>,
    ) -> PortFuture<'_, Result<Vec<ReportOutcome>, StoreError>> {
        self.store.apply_reports(reports)
    }

    fn applied(&self, outcome: &ReportOutcome) {
        if let ReportOutcome::Applied(event) = outcome {
            self.directory.publish_message_event(event);
        }
    }
}
