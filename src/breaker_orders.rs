//! Keeps this node's breaker under the operators' latest order (`db::breaker_orders`): an
//! order taken by any node is applied here within about [`WATCH_EVERY`], and a node that
//! starts applies the latest one, so forcing the breaker open during a Telnyx incident holds
//! on every node and across restarts.
//!
//! Only orders are shared. The breaker's own judgement (its window of calls, opening and
//! closing by itself) stays each node's: a node whose own network path to Telnyx fails should
//! stop calling without stopping the others, and sharing every call's outcome would put a
//! round trip to another service in front of every send.

use std::sync::Arc;
use std::time::Duration;

use belfry_actors::Directory;
use belfry_actors::delivery::breaker::{BreakerSnapshot, BreakerState};
use tokio::sync::{Mutex, watch};

use crate::db::breaker_orders::{self, BreakerOrder};
use crate::db::{DbError, DbPool};

pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The orders an operator may give, as stored and as the breaker takes them.
pub const ORDERS: [(&str, BreakerState); 3] = [
    ("closed", BreakerState::Closed),
    ("forced_open", BreakerState::ForcedOpen),
    ("disabled", BreakerState::Disabled),
];

pub fn order_state(name: &str) -> Option<BreakerState> {
    ORDERS
        .iter()
        .find(|(order, _)| *order == name)
        .map(|(_, state)| *state)
}

/// The last order this node applied.
#[derive(Default)]
pub struct BreakerOrders {
    applied: Mutex<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the breaker is restarting")]
    Unavailable,
}

impl BreakerOrders {
    /// Applies the newest order if this node has not yet; the breaker as it is after.
    pub async fn sync(
        &self,
        pool: &DbPool,
        directory: &Directory,
    ) -> Result<Option<BreakerSnapshot>, OrderError> {
        let mut applied = self.applied.lock().await;
        let Some(order) = breaker_orders::latest(pool).await? else {
            return Ok(None);
        };
        if order.id <= *applied {
            return Ok(None);
        }
        let snapshot = apply(directory, &order).await?;
        *applied = order.id;
        Ok(Some(snapshot))
    }
}

async fn apply(directory: &Directory, order: &BreakerOrder) -> Result<BreakerSnapshot, OrderError> {
    let Some(state) = order_state(&order.state) else {
        // Not an order this version knows: leave the breaker alone.
        tracing::warn!(order = %order.state, "unknown breaker order ignored");
        return directory
            .breaker_snapshot()
            .await
            .map_err(|_| OrderError::Unavailable);
    };
    tracing::warn!(
        order = order.id,
        ?state,
        "breaker set by an operator's order"
    );
    directory
        .set_breaker(state)
        .await
        .map_err(|_| OrderError::Unavailable)
}

pub fn spawn(
    orders: Arc<BreakerOrders>,
    pool: DbPool,
    directory: Arc<Directory>,
    shutdown: watch::Receiver<bool>,
) {
    crate::periodic::spawn_every(WATCH_EVERY, shutdown, move || {
        let (orders, pool, directory) = (Arc::clone(&orders), pool.clone(), Arc::clone(&directory));
        async move {
            if let Err(e) = orders.sync(&pool, &directory).await {
                tracing::warn!(error = %e, "cannot follow the operators' breaker orders");
            }
        }
    });
}
