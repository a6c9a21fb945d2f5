//! The actors' `DeliveryStore` port, implemented on PostgreSQL.

use belfry_actors::events::MessageEvent;
use belfry_actors::ports::{DeadLetter, DeliveryStore, PortFuture, StoreError};
use diesel_async::AsyncConnection;

use crate::db::messages::{
    RecipientKey, Transition, TransitionOutcome, transition, transition_now,
};
use crate::db::{self, DbPool, dead_letters};
use crate::domain::RecipientStatus;

pub struct PgDeliveryStore {
    pool: DbPool,
}

impl PgDeliveryStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    async fn accepted(
        &self,
        recipient_id: i64,
        provider_message_id: String,
        attempts: u32,
    ) -> Result<Option<MessageEvent>, StoreError> {
        let outcome = transition_now(
            &self.pool,
            Transition {
                key: RecipientKey::Id(recipient_id),
                status: RecipientStatus::Queued,
                provider_message_id: Some(&provider_message_id),
                attempts: Some(attempts as i32),
                failure_reason: None,
            },
        )
        .await
        .map_err(|e| StoreError(e.to_string()))?;
        Ok(match outcome {
            TransitionOutcome::Applied { event, .. } => Some(*event),
            _ => None,
        })
    }

    async fn dead(&self, letter: DeadLetter) -> Result<Option<MessageEvent>, StoreError> {
        let mut conn = db::get(&self.pool)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        let attempts_json = serde_json::to_value(&letter.attempts).unwrap_or_default();
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let outcome = transition(
                conn,
                Transition {
                    key: RecipientKey::Id(letter.recipient_id),
                    status: RecipientStatus::Failed,
                    provider_message_id: None,
                    attempts: Some(letter.attempts.len() as i32),
                    failure_reason: Some(&letter.reason),
                },
            )
            .await?;
            let TransitionOutcome::Applied {
                event,
                message_id,
                phone,
            } = outcome
            else {
                return Ok(None);
            };
            dead_letters::insert(
                conn,
                dead_letters::NewDeadLetter {
                    church_id: event.church_id,
                    message_id,
                    recipient_id: letter.recipient_id,
                    phone: &phone,
                    reason: &letter.reason,
                    attempts: attempts_json,
                },
            )
            .await?;
            Ok(Some(*event))
        })
        .await
        .map_err(|e| StoreError(e.to_string()))
    }
}

impl DeliveryStore for PgDeliveryStore {
    fn mark_accepted(
        &self,
        recipient_id: i64,
        provider_message_id: String,
        attempts: u32,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>> {
        Box::pin(self.accepted(recipient_id, provider_message_id, attempts))
    }

    fn dead_letter(
        &self,
        letter: DeadLetter,
    ) -> PortFuture<'_, Result<Option<MessageEvent>, StoreError>> {
        Box::pin(self.dead(letter))
    }
}
