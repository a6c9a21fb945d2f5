//! The actors' `DeliveryStore` port, implemented on PostgreSQL (the queries are `db`'s).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use belfry_actors::ports::OutboundSms;
use belfry_actors::ports::{
    AttemptRecord, AttemptStart, DeadLetter, DeliveryStore, LookupRound, PortFuture, Recovery,
    Report, ReportOutcome, StoreError,
};
use belfry_actors::protocol::MessageEvent;
use belfry_actors::status::RecipientStatus;

use crate::clock::SharedClock;
use crate::db::messages::Applied;
use crate::db::nodes::NodeLease;
use crate::db::outbox::Begin;
use crate::db::{self, DbError, DbPool, dead_letters, members, outbox, totals};
use crate::telemetry::throughput::Throughput;

pub struct PgDeliveryStore {
    pool: DbPool,
    /// For the messages' running totals (see `db::totals`).
    counters: DbPool,
    /// Deliveries, by church, for the dashboard's chart.
    throughput: Arc<Throughput>,
    /// What the outbox's quiet-hours test reads the time from.
    clock: SharedClock,
    /// This node: what it claims carries its id (see `db::nodes`).
    node: NodeLease,
    /// Whether this process already recovered what its previous run left (done once: a
    /// restarted outbox must not take this run's sends in flight for interrupted ones).
    recovered_own: AtomicBool,
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl PgDeliveryStore {
    pub fn new(
        pool: DbPool,
        counters: DbPool,
        throughput: Arc<Throughput>,
        (clock, node): (SharedClock, NodeLease),
    ) -> Self {
        Self {
            pool,
            counters,
            throughput,
            clock,
            node,
            recovered_own: AtomicBool::new(false),
        }
    }

    async fn publishable(
        &self,
        applied: Option<Applied>,
    ) -> Result<Option<MessageEvent>, StoreError> {
        match applied {
            Some(applied) => totals::record(&self.counters, &applied)
                .await
                .map(Some)
                .map_err(store_error),
            None => Ok(None),
        }
    }

    async fn begin(&self, recipient_ids: Vec<i64>) -> Result<Vec<AttemptStart>, StoreError> {
        let begun = outbox::begin_attempts(&self.pool, &self.node.id, &recipient_ids)
            .await
            .map_err(store_error)?;
        let mut starts = Vec::with_capacity(begun.len());
        for begin in begun {
            starts.push(match begin {
                Begin::Go(attempt) => AttemptStart::Go(attempt),
                Begin::Gone => AttemptStart::Gone,
                // The others in the batch are marked already: a failure here costs only the
                // skipped recipient's event, not their sends.
                Begin::OptedOut(applied) => {
                    AttemptStart::OptedOut(self.publishable(applied).await.unwrap_or_else(|err| {
                        tracing::error!(%err, "cannot count a skipped recipient in its totals");
                        None
                    }))
                }
            });
        }
        Ok(starts)
    }

    async fn dead(&self, letter: DeadLetter) -> Result<Option<MessageEvent>, StoreError> {
        let applied = dead_letters::dead_letter_recipient(&self.pool, &letter)
            .await
            .map_err(store_error)?;
        self.publishable(applied).await
    }
}

fn boxed<'a, T: Send + 'a>(
    f: impl Future<Output = Result<T, DbError>> + Send + 'a,
) -> PortFuture<'a, Result<T, StoreError>> {
    Box::pin(async move { f.await.map_err(store_error) })
}

impl DeliveryStore for PgDeliveryStore {
    fn claim_due(&self, limit: usize) -> PortFuture<'_, Result<Vec<OutboundSms>, StoreError>> {
        boxed(outbox::claim_due(
            &self.pool,
            &self.node.id,
            limit,
            self.clock.now(),
        ))
    }

    fn next_due_in(&self) -> PortFuture<'_, Result<Option<Duration>, StoreError>> {
        boxed(outbox::next_due_in(&self.pool, self.clock.now()))
    }

    fn begin_attempts(
        &self,
        recipient_ids: Vec<i64>,
    ) -> PortFuture<'_, Result<Vec<AttemptStart>, StoreError>> {
        Box::pin(self.begin(recipient_ids))
    }

    fn opt_out_recipient(&self, recipient_id: i64) -> PortFuture<'_, Result<(), StoreError>> {
        boxed(members::opt_out_recipient(&self.pool, recipient_id))
    }

    fn schedule_retry(
        &self,
        recipient_id: i64,
        attempt: AttemptRecord,
        delay: Duration,
    ) -> PortFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            outbox::schedule_retry(&self.pool, recipient_id, &attempt, delay)
                .await
                .map_err(store_error)
        })
    }

    fn apply_reports(
        &self,
        reports: Vec<Report>,
    ) -> PortFuture<'_, Result<Vec<ReportOutcome>, StoreError>> {
        Box::pin(async move {
            let outcomes = db::reports::apply(&self.pool, &reports)
                .await
                .map_err(store_error)?;
            for outcome in &outcomes {
                if let ReportOutcome::Applied(event) = outcome
                    && event.status == RecipientStatus::Delivered
                {
                    self.throughput.church(event.church_id).delivered(1);
                }
            }
            Ok(outcomes)
        })
    }

    fn take_lookups(
        &self,
        after: Duration,
        limit: usize,
    ) -> PortFuture<'_, Result<LookupRound, StoreError>> {
        boxed(db::carrier_lookups::take(&self.pool, after, limit))
    }

    fn recover_interrupted(&self) -> PortFuture<'_, Result<Recovery, StoreError>> {
        let own = !self.recovered_own.load(Ordering::Acquire);
        boxed(async move {
            let recovery =
                outbox::recover_interrupted(&self.pool, &self.node.id, self.node.lease, own)
                    .await?;
            self.recovered_own.store(true, Ordering::Release);
            Ok(recovery)
        })
    }

    fn dead_letter(
        &self,
        letter: DeadLetter,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>> {
        Box::pin(self.dead(letter))
    }
}
