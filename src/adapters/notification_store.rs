//! The notifier's `NotificationStore` port on PostgreSQL (`db::notifications`).

use belfry_actors::ports::{
    Announcement, Audience, NewNotification, NotificationStore, PortFuture, StoreError,
};

use crate::db::{DbPool, get, notifications};

pub struct PgNotificationStore {
    pool: DbPool,
}

impl PgNotificationStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
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
                notifications::create(&mut conn, &audience, &notification, None).await
            };
            stored.await.map_err(|e| StoreError(e.to_string()))
        })
    }
}
