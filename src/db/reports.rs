//! Applying a batch of carrier status reports in one transaction: lock the named recipients,
//! record the new event ids, move each recipient to the furthest status reported for it, and
//! update each message's totals once, giving every applied report its own event with exact,
//! increasing totals.

use std::collections::{HashMap, HashSet};

use belfry_actors::events::MessageEvent;
use belfry_actors::ports::{FinalCount, ReportOutcome, StatusReport};
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

pub async fn apply(pool: &DbPool, reports: &[StatusReport]) -> Result<Vec<ReportOutcome>, DbError> {
    let mut conn = get(pool).await?;
    Ok(conn
        .transaction::<_, diesel::result::Error, _>(async |conn| apply_in(conn, reports).await)
        .await?)
}

async fn apply_in(
    conn: &mut AsyncPgConnection,
    reports: &[StatusReport],
) -> Result<Vec<ReportOutcome>, diesel::result::Error> {
    use message_recipients::dsl as r;
    let carrier_ids: Vec<&str> = reports
        .iter()
        .map(|p| p.provider_message_id.as_str())
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

    let mut outcomes: Vec<Option<ReportOutcome>> = Vec::with_capacity(reports.len());
    let mut applied: Vec<(usize, i64)> = Vec::new();
    let mut furthest: HashMap<i64, Furthest> = HashMap::new();
    for (i, report) in reports.iter().enumerate() {
        let Some(recipient) = recipients.get_mut(&report.provider_message_id) else {
            outcomes.push(Some(ReportOutcome::Unknown));
            continue;
        };
        if !new_events.remove(&report.event_id) {
            outcomes.push(Some(ReportOutcome::Duplicate));
            continue;
        }
        if report.rank <= recipient.rank {
            outcomes.push(Some(ReportOutcome::Stale));
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
        applied.push((i, recipient.id));
        outcomes.push(None);
    }
    if applied.is_empty() {
        return Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(ReportOutcome::Stale))
            .collect());
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

    let by_id: HashMap<i64, &Recipient> = recipients.values().map(|r| (r.id, r)).collect();
    let mut increments: HashMap<i64, (i32, i32)> = HashMap::new();
    for (i, id) in &applied {
        let message_id = by_id[id].message_id;
        let entry = increments.entry(message_id).or_default();
        match reports[*i].counts_as {
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
    for (i, id) in applied {
        let report = &reports[i];
        let recipient = by_id[&id];
        let totals = running
            .get_mut(&recipient.message_id)
            .expect("every applied report's message has totals");
        match report.counts_as {
            FinalCount::Delivered => totals.2 += 1,
            FinalCount::Failed => totals.3 += 1,
            FinalCount::NotFinal => {}
        }
        let (church_id, recipient_count, delivered, failed) = *totals;
        outcomes[i] = Some(ReportOutcome::Applied(Box::new(MessageEvent {
            kind: MessageEvent::kind_for(&report.status).to_owned(),
            message_id: recipient.message_id,
            recipient_id: recipient.id,
            member_id: recipient.member_id,
            status: report.status.clone(),
            message_status: message_status(recipient_count, delivered, failed).to_owned(),
            timestamp: timestamp.clone(),
            recipient_count: recipient_count.into(),
            delivered_count: delivered.into(),
            failed_count: failed.into(),
            failure_reason: report.failure_reason.clone(),
            church_id,
        })));
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(ReportOutcome::Stale))
        .collect())
}
