//! A service that gathers requests arriving close together and applies them in one database
//! round trip, the way a database groups commits.
//!
//! It flushes whenever it is idle: a request that finds nothing in progress goes at once, alone;
//! requests arriving while a flush runs wait and go together in the next one. Under light load
//! nothing waits for a timer, and under heavy load batches grow by themselves (up to the
//! operation's limit), so each statement and commit is paid once per batch, not per request.
//! Flushes never overlap, so outcomes are handled in the order requests arrived.

use std::marker::PhantomData;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::ports::{PortFuture, StoreError};
use crate::stats::{ActorStats, Mailbox};

/// What a [`Batcher`] applies.
pub trait BatchOp: Send + Sync + 'static {
    /// Kept until its batch is applied: a failed batch is applied again one item at a time.
    type Item: Clone + Send + 'static;
    type Outcome: Send + 'static;

    /// Named in logs when a batch fails.
    const WHAT: &'static str;
    /// Items in one batch at most.
    const MAX_BATCH: usize;

    /// Applies a batch: one outcome per item, in the order given.
    fn apply(
        &self,
        items: Vec<Self::Item>,
    ) -> PortFuture<'_, Result<Vec<Self::Outcome>, StoreError>>;

    /// Runs for each outcome, in order, before its requester hears of it.
    fn applied(&self, _outcome: &Self::Outcome) {}
}

pub type BatchReply<O> = RpcReplyPort<Result<O, StoreError>>;

/// A queued item and, if its requester waits, where its outcome goes.
type Pending<Op> = (
    <Op as BatchOp>::Item,
    Option<BatchReply<<Op as BatchOp>::Outcome>>,
);

pub enum BatchMsg<Op: BatchOp> {
    /// An item, and where to send its outcome if the requester waits for it.
    Submit(Op::Item, Option<BatchReply<Op::Outcome>>),
    /// The flush in progress is over.
    Flushed,
}

pub struct Batcher<Op>(PhantomData<fn() -> Op>);

impl<Op> Default for Batcher<Op> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

pub struct BatcherArgs<Op> {
    pub op: Arc<Op>,
    pub stats: Arc<ActorStats>,
}

pub struct BatcherState<Op: BatchOp> {
    op: Arc<Op>,
    stats: Arc<ActorStats>,
    pending: Vec<Pending<Op>>,
    flushing: bool,
}

impl<Op: BatchOp> BatcherState<Op> {
    fn flush(&mut self, myself: ActorRef<BatchMsg<Op>>) {
        if self.flushing || self.pending.is_empty() {
            return;
        }
        self.flushing = true;
        let take = self.pending.len().min(Op::MAX_BATCH);
        let (items, replies): (Vec<_>, Vec<_>) = self.pending.drain(..take).unzip();
        let op = Arc::clone(&self.op);
        let stats = Arc::clone(&self.stats);
        let done = Mailbox::new(myself, Arc::clone(&self.stats));
        // The flush runs beside the actor so that requests keep queueing meanwhile.
        tokio::spawn(async move {
            match op.apply(items.clone()).await {
                Ok(outcomes) => {
                    for (outcome, reply) in outcomes.into_iter().zip(replies) {
                        answer(op.as_ref(), Ok(outcome), reply);
                    }
                }
                Err(err) if items.len() > 1 => {
                    // One item the store cannot take must not fail the others with it.
                    tracing::warn!(%err, size = take, "a batch of {} failed; applying them one by one", Op::WHAT);
                    for (item, reply) in items.into_iter().zip(replies) {
                        let alone = op.apply(vec![item]).await.and_then(|mut outcomes| {
                            outcomes
                                .pop()
                                .ok_or_else(|| StoreError("no outcome for the item".to_owned()))
                        });
                        if let Err(err) = &alone {
                            stats.record_failure();
                            tracing::error!(%err, "one of {} failed", Op::WHAT);
                        }
                        answer(op.as_ref(), alone, reply);
                    }
                }
                Err(err) => {
                    stats.record_failure();
                    tracing::error!(%err, size = take, "a batch of {} failed", Op::WHAT);
                    for reply in replies.into_iter().flatten() {
                        let _ = reply.send(Err(err.clone()));
                    }
                }
            }
            done.send(BatchMsg::Flushed);
        });
    }
}

/// Hands an item's outcome to whoever waits for it, after the operation's own follow-up.
fn answer<Op: BatchOp>(
    op: &Op,
    outcome: Result<Op::Outcome, StoreError>,
    reply: Option<BatchReply<Op::Outcome>>,
) {
    if let Ok(outcome) = &outcome {
        op.applied(outcome);
    }
    if let Some(reply) = reply {
        let _ = reply.send(outcome);
    }
}

impl<Op: BatchOp> Actor for Batcher<Op> {
    type Msg = BatchMsg<Op>;
    type State = BatcherState<Op>;
    type Arguments = BatcherArgs<Op>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: BatcherArgs<Op>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(BatcherState {
            op: args.op,
            stats: args.stats,
            pending: Vec::new(),
            flushing: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.stats.record_handled();
        match msg {
            BatchMsg::Submit(item, reply) => state.pending.push((item, reply)),
            BatchMsg::Flushed => state.flushing = false,
        }
        state.flush(myself);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// Doubles numbers, slowly, remembering the size of every batch; a batch holding 13 fails
    /// as a whole, as a transaction would.
    struct Doubler {
        batches: Mutex<Vec<usize>>,
    }

    impl BatchOp for Doubler {
        type Item = u32;
        type Outcome = u32;
        const WHAT: &'static str = "numbers";
        const MAX_BATCH: usize = 4;

        fn apply(&self, items: Vec<u32>) -> PortFuture<'_, Result<Vec<u32>, StoreError>> {
            Box::pin(async move {
                self.batches.lock().unwrap().push(items.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
                if items.contains(&13) {
                    return Err(StoreError("13 cannot be stored".to_owned()));
                }
                Ok(items.into_iter().map(|n| n * 2).collect())
            })
        }
    }

    /// Submits `items` at once to a new batcher of doublers; every outcome, in order, and the
    /// size of every batch applied.
    async fn submit_together(
        items: std::ops::RangeInclusive<u32>,
    ) -> (Vec<Option<u32>>, Vec<usize>) {
        let op = Arc::new(Doubler {
            batches: Mutex::new(Vec::new()),
        });
        let stats = ActorStats::new("doubler", "batcher", 0);
        let (actor, handle) = Actor::spawn(
            None,
            Batcher::<Doubler>::default(),
            BatcherArgs {
                op: Arc::clone(&op),
                stats,
            },
        )
        .await
        .unwrap();
        let mut waiting = Vec::new();
        for n in items {
            let (reply, outcome) = ractor::concurrency::oneshot();
            actor
                .send_message(BatchMsg::Submit(n, Some(reply.into())))
                .unwrap();
            waiting.push(outcome);
        }
        let mut outcomes = Vec::new();
        for outcome in waiting {
            outcomes.push(outcome.await.unwrap().ok());
        }
        actor.stop(None);
        handle.await.unwrap();
        let batches = op.batches.lock().unwrap().clone();
        (outcomes, batches)
    }

    #[tokio::test]
    async fn requests_during_a_flush_go_together_in_order_and_within_the_limit() {
        let (outcomes, batches) = submit_together(1..=7).await;
        let doubled: Vec<Option<u32>> = (1..=7).map(|n| Some(n * 2)).collect();
        assert_eq!(outcomes, doubled);
        // The first goes alone; the six that queued meanwhile go as 4 + 2.
        assert_eq!(batches, vec![1, 4, 2]);
    }

    #[tokio::test]
    async fn one_item_that_fails_its_batch_fails_alone() {
        let (outcomes, batches) = submit_together(11..=17).await;
        let doubled = |n: u32| Some(n * 2);
        assert_eq!(
            outcomes,
            vec![
                doubled(11),
                doubled(12),
                None,
                doubled(14),
                doubled(15),
                doubled(16),
                doubled(17)
            ]
        );
        // 12 to 15 failed together, then went one by one.
        assert_eq!(batches, vec![1, 4, 1, 1, 1, 1, 2]);
    }
}
