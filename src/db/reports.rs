//! Applying a batch of reports in one transaction: record the carrier ids of accepted sends,
//! lock the recipients the webhooks name, record the new event ids, move each recipient to the
//! furthest status reported for it, and update each message's totals once, giving every
//! applied report its own event with exact, increasing totals.

use std::collections::{HashMap, HashSet};

use belfry_actors::events::MessageEvent;
use belfry_actors::ports::{FinalCount, Report, ReportOutcome, StatusReport};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{message_recipients, messages, webhook_events};
use super::totals::message_status;
use super::{DbError, DbPool, get};

struct Recipient {
    id: i64,
    message_id: i64,
    member_id: i64,
    rank: i16,
}

/// The furthest state one batch moves a recipient to.
struct Furthest {
    status: String,
    rank: i16,
    reason: Option<String>,
}

/// One applied change, in the order the events are published.
struct Change {
    index: usize,
    recipient_id: i64,
    message_id: i64,
    member_id: i64,
    status: String,
    counts_as: FinalCount,
    reason: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct AcceptedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    message_id: i64,
    #[diesel(sql_type = BigInt)]
    member_id: i64,
    #[diesel(sql_type = Text)]
    status: String,
}

pub async fn apply(pool: &DbPool, reports: &[Report]) -> Result<Vec<ReportOutcome>, DbError> {
    let mut conn = get(pool).await?;
    Ok(conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let mut outcomes: Vec<Option<ReportOutcome>> = vec![None; reports.len()];
            let mut changes = accept(conn, reports, &mut outcomes).await?;
            let carrier: Vec<(usize, &StatusReport)> = reports
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r {
                    Report::Carrier(c) => Some((i, c)),
                    Report::Accepted { .. } => None,
                })
                .collect();
            if !carrier.is_empty() {
                changes.extend(carrier_reports(conn, &carrier, &mut outcomes).await?);
            }
            publishable(conn, changes, &mut outcomes).await?;
            Ok(outcomes
                .into_iter()
                .map(|o| o.unwrap_or(ReportOutcome::Stale))
                .collect())
        })
        .await?)
}

/// Records the carrier ids of accepted sends: the recipient is `queued` and leaves the outbox.
async fn accept(
    conn: &mut AsyncPgConnection,
    reports: &[Report],
    outcomes: &mut [Option<ReportOutcome>],
) -> Result<Vec<Change>, diesel::result::Error> {
    let mut ids = Vec::new();
    let mut carrier_ids = Vec::new();
    let mut index_of = HashMap::new();
    for (i, report) in reports.iter().enumerate() {
        if let Report::Accepted {
            recipient_id,
            provider_message_id,
        } = report
        {
            ids.push(*recipient_id);
            carrier_ids.push(provider_message_id.as_str());
            index_of.insert(*recipient_id, i);
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<AcceptedRow> = diesel::sql_query(
        "UPDATE message_recipients r
         SET provider_message_id = v.pid, outbox_state = 'done', updated_at = now(),
             status = CASE WHEN r.status_rank < 1 THEN 'queued' ELSE r.status END,
             status_rank = GREATEST(r.status_rank, 1)
         FROM unnest($1::bigint[], $2::text[]) AS v(id, pid)
         WHERE r.id = v.id
         RETURNING r.id, r.message_id, r.member_id, r.status",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&carrier_ids)
    .load(conn)
    .await?;
    let mut changes = Vec::new();
    for row in rows {
        let index = index_of[&row.id];
        if row.status == "queued" {
            changes.push(Change {
                index,
                recipient_id: row.id,
                message_id: row.message_id,
                member_id: row.member_id,
                status: row.status,
                counts_as: FinalCount::NotFinal,
                reason: None,
            });
        } else {
            outcomes[index] = Some(ReportOutcome::Stale);
        }
    }
    Ok(changes)
}

/// Applies carrier webhooks, given with their places in the batch.
async fn carrier_reports(
    conn: &mut AsyncPgConnection,
    reports: &[(usize, &StatusReport)],
    outcomes: &mut [Option<ReportOutcome>],
) -> Result<Vec<Change>, diesel::result::Error> {
    use message_recipients::dsl as r;
    let carrier_ids: Vec<&str> = reports
        .iter()
        .map(|(_, p)| p.provider_message_id.as_str())
        .collect();
    let rows: Vec<(i64, i64, i64, Option<String>, i16)> = r::message_recipients
        .filter(r::provider_message_id.eq_any(&carrier_ids))
        .select((
            r::id,
            r::message_id,
            r::member_id,
            r::provider_message_id,
            r::status_rank,
        ))
        .order(r::id.asc())
        .for_update()
        .load(conn)
        .await?;
    let mut recipients: HashMap<String, Recipient> = rows
        .into_iter()
        .filter_map(|(id, message_id, member_id, pid, rank)| {
            Some((
                pid?,
                Recipient {
                    id,
                    message_id,
                    member_id,
                    rank,
                },
            ))
        })
        .collect();

    // Event ids of reports about known recipients; an unknown one is not recorded, so the
    // carrier's retry is looked at again.
    let mut seen = HashSet::new();
    let events: Vec<_> = reports
        .iter()
        .map(|(_, p)| *p)
        .filter(|p| recipients.contains_key(&p.provider_message_id))
        .filter(|p| seen.insert(p.event_id.as_str()))
        .map(|p| {
            (
                webhook_events::event_id.eq(p.event_id.as_str()),
                webhook_events::event_type.eq(p.event_type.as_str()),
            )
        })
        .collect();
    let mut new_events: HashSet<String> = if events.is_empty() {
        HashSet::new()
    } else {
        diesel::insert_into(webhook_events::table)
            .values(&events)
            .on_conflict_do_nothing()
            .returning(webhook_events::event_id)
            .get_results::<String>(conn)
            .await?
            .into_iter()
            .collect()
    };

    let mut changes: Vec<Change> = Vec::new();
    let mut furthest: HashMap<i64, Furthest> = HashMap::new();
    for &(index, report) in reports {
        let Some(recipient) = recipients.get_mut(&report.provider_message_id) else {
            outcomes[index] = Some(ReportOutcome::Unknown);
            continue;
        };
        if !new_events.remove(&report.event_id) {
            outcomes[index] = Some(ReportOutcome::Duplicate);
            continue;
        }
        if report.rank <= recipient.rank {
            outcomes[index] = Some(ReportOutcome::Stale);
            continue;
        }
        recipient.rank = report.rank;
        furthest.insert(
            recipient.id,
            Furthest {
                status: report.status.clone(),
                rank: report.rank,
                reason: report.failure_reason.clone(),
            },
        );
        changes.push(Change {
            index,
            recipient_id: recipient.id,
            message_id: recipient.message_id,
            member_id: recipient.member_id,
            status: report.status.clone(),
            counts_as: report.counts_as,
            reason: report.failure_reason.clone(),
        });
    }
    if changes.is_empty() {
        return Ok(changes);
    }

    let mut ids = Vec::with_capacity(furthest.len());
    let mut statuses = Vec::with_capacity(furthest.len());
    let mut ranks = Vec::with_capacity(furthest.len());
    let mut reasons = Vec::with_capacity(furthest.len());
    for (id, f) in &furthest {
        ids.push(*id);
        statuses.push(f.status.clone());
        ranks.push(f.rank);
        reasons.push(f.reason.clone());
    }
    diesel::sql_query(
        "UPDATE message_recipients r
         SET status = v.status, status_rank = v.rank,
             failure_reason = COALESCE(v.reason, r.failure_reason), updated_at = now()
         FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::text[]) AS v(id, status, rank, reason)
         WHERE r.id = v.id AND r.status_rank < v.rank",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<SmallInt>, _>(&ranks)
    .bind::<Array<Nullable<Text>>, _>(&reasons)
    .execute(conn)
    .await?;
    Ok(changes)
}

/// Updates each message's totals once for the batch and gives every change its event.
async fn publishable(
    conn: &mut AsyncPgConnection,
    changes: Vec<Change>,
    outcomes: &mut [Option<ReportOutcome>],
) -> Result<(), diesel::result::Error> {
    let mut increments: HashMap<i64, (i32, i32)> = HashMap::new();
    for change in &changes {
        let entry = increments.entry(change.message_id).or_default();
        match change.counts_as {
            FinalCount::Delivered => entry.0 += 1,
            FinalCount::Failed => entry.1 += 1,
            FinalCount::NotFinal => {}
        }
    }
    // Totals before this batch, per message, to count each report in turn.
    let mut running: HashMap<i64, (i64, i32, i32, i32)> = HashMap::new();
    let mut message_ids: Vec<_> = increments.keys().copied().collect();
    message_ids.sort_unstable();
    for message_id in message_ids {
        let (d, f) = increments[&message_id];
        let (church_id, recipient_count, delivered, failed, old_status): (
            i64,
            i32,
            i32,
            i32,
            String,
        ) = diesel::update(messages::table.find(message_id))
            .set((
                messages::delivered_count.eq(messages::delivered_count + d),
                messages::failed_count.eq(messages::failed_count + f),
                messages::updated_at.eq(chrono::Utc::now()),
            ))
            .returning((
                messages::church_id,
                messages::recipient_count,
                messages::delivered_count,
                messages::failed_count,
                messages::status,
            ))
            .get_result(conn)
            .await?;
        let status = message_status(recipient_count, delivered, failed);
        if status != old_status {
            diesel::update(messages::table.find(message_id))
                .set(messages::status.eq(status))
                .execute(conn)
                .await?;
        }
        running.insert(
            message_id,
            (church_id, recipient_count, delivered - d, failed - f),
        );
    }

    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for change in changes {
        let totals = running
            .get_mut(&change.message_id)
            .expect("every change's message has totals");
        match change.counts_as {
            FinalCount::Delivered => totals.2 += 1,
            FinalCount::Failed => totals.3 += 1,
            FinalCount::NotFinal => {}
        }
        let (church_id, recipient_count, delivered, failed) = *totals;
        outcomes[change.index] = Some(ReportOutcome::Applied(Box::new(MessageEvent {
            kind: MessageEvent::kind_for(&change.status).to_owned(),
            message_id: change.message_id,
            recipient_id: change.recipient_id,
            member_id: change.member_id,
            status: change.status,
            message_status: message_status(recipient_count, delivered, failed).to_owned(),
            timestamp: timestamp.clone(),
            recipient_count: recipient_count.into(),
            delivered_count: delivered.into(),
            failed_count: failed.into(),
            failure_reason: change.reason,
            church_id,
        })));
    }
    Ok(())
}
