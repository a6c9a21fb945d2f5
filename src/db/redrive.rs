//! Sending dead letters again: each picked entry is marked retried, and its recipient goes back
//! to the outbox as if new (status pending, attempts counted afresh; earlier attempts stay in
//! `delivery_attempts`). Members who opted out are never picked.

use std::collections::HashMap;

use belfry_actors::status::{MessageStatus, RecipientStatus};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::dead_letters::{DlqFilter, DlqState};
use super::schema::{dead_letters, members, message_recipients, messages};
use super::{DbError, DbPool, get};

pub struct Redriven {
    pub dead_letters: usize,
    /// Entries the filter matched but whose member has opted out.
    pub opted_out: usize,
}

/// Redrives the open entries matching `filter`, or only entry `only` when given, of one church
/// or (`None`, operators) of every church.
pub async fn redrive(
    pool: &DbPool,
    church: Option<i64>,
    user_id: i64,
    filter: &DlqFilter,
    only: Option<i64>,
) -> Result<Redriven, DbError> {
    let mut conn = get(pool).await?;
    Ok(conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let mut query = super::dead_letters::filtered(church, filter, DlqState::Open);
            if let Some(id) = only {
                query = query.filter(dead_letters::id.eq(id));
            }
            let candidates: Vec<(i64, i64)> = query
                .select((dead_letters::id, dead_letters::recipient_id))
                .load(conn)
                .await?;
            let recipient_ids: Vec<i64> = candidates.iter().map(|c| c.1).collect();
            let allowed: Vec<i64> = message_recipients::table
                .inner_join(members::table)
                .filter(message_recipients::id.eq_any(&recipient_ids))
                .filter(members::opted_out_at.is_null())
                .select(message_recipients::id)
                .load(conn)
                .await?;
            let letter_ids: Vec<i64> = candidates
                .iter()
                .filter(|c| allowed.contains(&c.1))
                .map(|c| c.0)
                .collect();
            // Still open when updated: a concurrent redrive cannot pick the same entry.
            let picked: Vec<(i64, i64)> = diesel::update(
                dead_letters::table
                    .filter(dead_letters::id.eq_any(&letter_ids))
                    .filter(dead_letters::resolution.is_null()),
            )
            .set((
                dead_letters::resolution.eq("retried"),
                dead_letters::resolved_at.eq(chrono::Utc::now()),
                dead_letters::resolved_by.eq(user_id),
            ))
            .returning((dead_letters::recipient_id, dead_letters::message_id))
            .get_results(conn)
            .await?;
            let opted_out = candidates.len() - letter_ids.len();
            let picked_recipients: Vec<i64> = picked.iter().map(|p| p.0).collect();
            diesel::update(
                message_recipients::table.filter(message_recipients::id.eq_any(&picked_recipients)),
            )
            .set((
                message_recipients::status.eq(RecipientStatus::Pending.as_str()),
                message_recipients::status_rank.eq(RecipientStatus::Pending.rank()),
                message_recipients::failure_reason.eq(None::<String>),
                message_recipients::provider_message_id.eq(None::<String>),
                message_recipients::attempts.eq(0),
                message_recipients::outbox_state.eq("ready"),
                message_recipients::next_attempt_at.eq(chrono::Utc::now()),
                message_recipients::updated_at.eq(chrono::Utc::now()),
            ))
            .execute(conn)
            .await?;
            let mut per_message: HashMap<i64, i32> = HashMap::new();
            for p in &picked {
                *per_message.entry(p.1).or_default() += 1;
            }
            for (message_id, n) in per_message {
                diesel::update(messages::table.find(message_id))
                    .set((
                        messages::failed_count.eq(messages::failed_count - n),
                        messages::status.eq(MessageStatus::Sending.as_str()),
                        // Its summary no longer holds (see `delivery_summaries`).
                        messages::sent_count.eq(None::<i32>),
                        messages::updated_at.eq(chrono::Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
            }
            Ok(Redriven {
                dead_letters: picked.len(),
                opted_out,
            })
        })
        .await?)
}
