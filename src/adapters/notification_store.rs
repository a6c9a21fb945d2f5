//! The notifier's `NotificationStore` port on PostgreSQL (`db::notifications`).

use belfry_actors::ports::{
    Announcement, Audience, NewNotification, NotificationStore, PortFuture, StoreError,
};

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::db::{DbPool, get, notifications};
use crate::telemetry::Metrics;

pub struct PgNotificationStore {
    pool: DbPool,
    /// The time people's quiet hours are read by.
    clock: SharedClock,
    metrics: Arc<Metrics>,
}

impl PgNotificationStore {
    pub fn new(pool: DbPool, clock: SharedClock, metrics: Arc<Metrics>) -> Self {
        Self {
            pool,
            clock,
            metrics,
        }
    }
}

impl NotificationStore for PgNotificationStore {
    fn create(
        &self,
        audience: Audience,
        notification: NewNotification,
    ) -> PortFuture<'_, Result<Vec<Announcement>, StoreError>> {
        Box::pin(async move {
            let stored = async {
                let mut conn = get(&self.pool).await?;
                let now = self.clock.now();
                notifications::create(&mut conn, &audience, &notification, None, now).await
            };
            let stored = stored.await.map_err(|e| StoreError(e.to_string()))?;
            self.metrics.notifications_stored(&stored);
            Ok(stored)
        })
    }
}
