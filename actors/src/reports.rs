//! The report writer: applies what moves recipients forward (the carrier's acceptance of a
//! send, and its webhooks) to the database in batches.
//!
//! Both arrive thousands per second during a broadcast. Applied one by one, each costs a
//! transaction of several round trips; here they queue for at most a couple of milliseconds
//! (or until a batch is full) and a batch is applied in one transaction of a few statements.
//! Each caller waits for its own outcome, so no webhook is acknowledged to the carrier before
//! it is committed; applied changes are published in the order they were applied.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::Directory;
use crate::ports::{DeliveryStore, Report, ReportOutcome};
use crate::stats::{ActorStats, Mailbox};

/// Reports in one batch at most.
const MAX_BATCH: usize = 256;
/// How long the first report of a batch waits for others.
const BATCH_WINDOW: Duration = Duration::from_millis(2);

pub type ReportReply = RpcReplyPort<Result<ReportOutcome, String>>;

pub enum ReportMsg {
    Report(Report, ReportReply),
    Flush,
}

pub struct ReportWriter;

pub struct ReportWriterArgs {
    pub store: Arc<dyn DeliveryStore>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ActorStats>,
}

pub struct ReportWriterState {
    args: ReportWriterArgs,
    pending: Vec<(Report, ReportReply)>,
    flush_scheduled: bool,
}

impl ReportWriterState {
    async fn flush(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        if batch.is_empty() {
            return;
        }
        let (reports, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        match self.args.store.apply_reports(reports).await {
            Ok(outcomes) => {
                for (outcome, reply) in outcomes.into_iter().zip(replies) {
                    if let ReportOutcome::Applied(event) = &outcome {
                        self.args.directory.publish_message_event(event);
                    }
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(err) => {
                self.args.stats.record_failure();
                tracing::error!(%err, "a batch of carrier reports could not be applied");
                for reply in replies {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

impl Actor for ReportWriter {
    type Msg = ReportMsg;
    type State = ReportWriterState;
    type Arguments = ReportWriterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: ReportWriterArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(ReportWriterState {
            args,
            pending: Vec::new(),
            flush_scheduled: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.args.stats.record_handled();
        match msg {
            ReportMsg::Report(report, reply) => {
                state.pending.push((report, reply));
                if state.pending.len() >= MAX_BATCH {
                    state.flush().await;
                } else if !state.flush_scheduled {
                    state.flush_scheduled = true;
                    let mailbox = Mailbox::new(myself, Arc::clone(&state.args.stats));
                    tokio::spawn(async move {
                        tokio::time::sleep(BATCH_WINDOW).await;
                        mailbox.send(ReportMsg::Flush);
                    });
                }
            }
            ReportMsg::Flush => {
                state.flush_scheduled = false;
                state.flush().await;
            }
        }
        Ok(())
    }
}
