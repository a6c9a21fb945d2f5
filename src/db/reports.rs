//! Applying a batch of reports in one transaction: record the carrier ids of accepted sends,
//! lock the recipients the webhooks name, record the new event ids, move each recipient to the
//! furthest status reported for it, and update each message's totals once, giving every
//! applied report its own event with exact, increasing totals.
//!
//! The whole transaction takes three round trips (see [`PipelinedTransaction`]): on a loaded
//! machine each round trip costs far more than the statements themselves, and webhooks wait
//! for their batch to commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use belfry_actors::ports::{Report, ReportOutcome, StatusReport};
use belfry_actors::status::precedence::{self, Accepted, Change, Furthest, Named};
use belfry_actors::status::{MessageStatus, RecipientStatus, Totals};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::pipelined::PipelinedTransaction;
use super::prepared::Prepare;
use super::schema::message_recipients;
use super::{DbError, DbPool, get};

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
    let batch = Batch::sort(reports);
    let tx = PipelinedTransaction::new(get(pool).await?);
    let conn = tx.conn();
    let applied = async {
        let mut outcomes: Vec<Option<ReportOutcome>> = vec![None; reports.len()];
        // Statements run in the order sent: the acceptances are recorded before the webhooks
        // of the same batch look for their sends.
        let (_, accepted, named, new_events) = futures_util::try_join!(
            tx.begin(),
            accept(conn, &batch),
            lock_named(conn, &batch),
            record_events(conn, &batch),
        )?;
        let accepted = accepted.into_iter().map(|row| Accepted {
            recipient_id: row.id,
            message_id: row.message_id,
            member_id: row.member_id,
            status: RecipientStatus::parse(&row.status),
        });
        let mut changes =
            precedence::accepted(accepted.collect(), &batch.accepted_index, &mut outcomes);
        let (carrier_changes, furthest) =
            precedence::carrier(named, new_events, &batch.carrier, &mut outcomes);
        changes.extend(carrier_changes);
        let (_, totals) = futures_util::try_join!(
            move_recipients(conn, &furthest),
            count_totals(conn, &changes),
        )?;
        let timestamp = belfry_actors::protocol::timestamp();
        precedence::publish(changes, totals, &timestamp, &mut outcomes);
        Ok::<_, diesel::result::Error>(outcomes)
    }
    .await;
    let outcomes = tx.finish(applied).await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(ReportOutcome::Stale))
        .collect())
}

/// A batch split by kind, each report keeping its place.
struct Batch<'a> {
    accepted_ids: Vec<i64>,
    accepted_carrier_ids: Vec<&'a str>,
    accepted_index: HashMap<i64, usize>,
    carrier: Vec<(usize, &'a StatusReport)>,
    carrier_ids: Vec<&'a str>,
}

impl<'a> Batch<'a> {
    fn sort(reports: &'a [Report]) -> Self {
        let mut batch = Batch {
            accepted_ids: Vec::new(),
            accepted_carrier_ids: Vec::new(),
            accepted_index: HashMap::new(),
            carrier: Vec::new(),
            carrier_ids: Vec::new(),
        };
        for (i, report) in reports.iter().enumerate() {
            match report {
                Report::Accepted {
                    recipient_id,
                    provider_message_id,
                } => {
                    batch.accepted_ids.push(*recipient_id);
                    batch.accepted_carrier_ids.push(provider_message_id);
                    batch.accepted_index.insert(*recipient_id, i);
                }
                Report::Carrier(c) => {
                    batch.carrier.push((i, c));
                    batch.carrier_ids.push(&c.provider_message_id);
                }
            }
        }
        batch
    }
}

/// Records the carrier ids of accepted sends: the recipient is `queued` and leaves the outbox.
async fn accept(
    mut conn: &AsyncPgConnection,
    batch: &Batch<'_>,
) -> Result<Vec<AcceptedRow>, diesel::result::Error> {
    if batch.accepted_ids.is_empty() {
        return Ok(Vec::new());
    }
    let queued = RecipientStatus::Queued;
    diesel::sql_query(
        "UPDATE message_recipients r
         SET provider_message_id = v.pid, outbox_state = 'done', updated_at = now(),
             accepted_at = now(), lookup_since = now(),
             status = CASE WHEN r.status_rank < $3 THEN $4 ELSE r.status END,
             status_rank = GREATEST(r.status_rank, $3)
         FROM unnest($1::bigint[], $2::text[]) AS v(id, pid)
         WHERE r.id = v.id
         RETURNING r.id, r.message_id, r.member_id, r.status",
    )
    .bind::<Array<BigInt>, _>(&batch.accepted_ids)
    .bind::<Array<Text>, _>(&batch.accepted_carrier_ids)
    .bind::<SmallInt, _>(queued.rank())
    .bind::<Text, _>(queued.as_str())
    .prepared()
    .load(&mut conn)
    .await
}

type NamedRow = (i64, i64, i64, Option<String>, i16);

/// Locks the recipients the webhooks name, in id order.
async fn lock_named(
    mut conn: &AsyncPgConnection,
    batch: &Batch<'_>,
) -> Result<Vec<Named>, diesel::result::Error> {
    use message_recipients::dsl as r;
    if batch.carrier.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<NamedRow> = r::message_recipients
        .filter(r::provider_message_id.eq_any(&batch.carrier_ids))
        .select((
            r::id,
            r::message_id,
            r::member_id,
            r::provider_message_id,
            r::status_rank,
        ))
        .order(r::id.asc())
        .for_update()
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(recipient_id, message_id, member_id, pid, rank)| {
            Some(Named {
                recipient_id,
                message_id,
                member_id,
                provider_message_id: pid?,
                rank,
            })
        })
        .collect())
}

#[derive(diesel::QueryableByName)]
struct NewEvent {
    #[diesel(sql_type = Text)]
    event_id: String,
}

/// Records the event ids of webhooks about known sends, returning those not seen before. An
/// unknown send's event is not recorded, so that the carrier's retry is looked at again.
async fn record_events(
    mut conn: &AsyncPgConnection,
    batch: &Batch<'_>,
) -> Result<HashSet<String>, diesel::result::Error> {
    let mut seen = HashSet::new();
    let (mut ids, mut types, mut carrier_ids) = (Vec::new(), Vec::new(), Vec::new());
    for (_, report) in &batch.carrier {
        if seen.insert(report.event_id.as_str()) {
            ids.push(report.event_id.as_str());
            types.push(report.event_type.as_str());
            carrier_ids.push(report.provider_message_id.as_str());
        }
    }
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<NewEvent> = diesel::sql_query(
        "INSERT INTO webhook_events (event_id, event_type)
         SELECT e.event_id, e.event_type
         FROM unnest($1::text[], $2::text[], $3::text[]) AS e(event_id, event_type, pid)
         WHERE EXISTS (SELECT 1 FROM message_recipients r WHERE r.provider_message_id = e.pid)
         ON CONFLICT DO NOTHING
         RETURNING event_id",
    )
    .bind::<Array<Text>, _>(&ids)
    .bind::<Array<Text>, _>(&types)
    .bind::<Array<Text>, _>(&carrier_ids)
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|e| e.event_id).collect())
}

/// Moves each recipient to the furthest status the batch reported for it.
async fn move_recipients(
    mut conn: &AsyncPgConnection,
    furthest: &HashMap<i64, Furthest>,
) -> Result<usize, diesel::result::Error> {
    if furthest.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(furthest.len());
    let mut statuses = Vec::with_capacity(furthest.len());
    let mut ranks = Vec::with_capacity(furthest.len());
    let mut reasons = Vec::with_capacity(furthest.len());
    for (id, f) in furthest {
        ids.push(*id);
        statuses.push(f.status.as_str());
        ranks.push(f.status.rank());
        reasons.push(f.reason.as_deref());
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
    .prepared()
    .execute(&mut conn)
    .await
}

#[derive(diesel::QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = BigInt)]
    church_id: i64,
    #[diesel(sql_type = Integer)]
    recipient_count: i32,
    #[diesel(sql_type = Integer)]
    delivered_count: i32,
    #[diesel(sql_type = Integer)]
    failed_count: i32,
}

/// Updates each message's totals (and status) once for the batch, returning each message's
/// totals from before it, so that every change can be counted in turn.
async fn count_totals(
    conn: &AsyncPgConnection,
    changes: &[Change],
) -> Result<HashMap<i64, Totals>, diesel::result::Error> {
    // In message order, so that concurrent batches lock messages in the same order.
    let increments: BTreeMap<i64, (i64, i64)> =
        precedence::increments(changes).into_iter().collect();
    let updates = increments
        .into_iter()
        .map(|(message_id, (d, f))| async move {
            let mut conn = conn;
            let after: TotalsRow = diesel::sql_query(COUNT_TOTALS.as_str())
                .bind::<BigInt, _>(message_id)
                .bind::<Integer, _>(d as i32)
                .bind::<Integer, _>(f as i32)
                .prepared()
                .get_result(&mut conn)
                .await?;
            let before = Totals {
                church_id: after.church_id,
                recipients: after.recipient_count.into(),
                delivered: i64::from(after.delivered_count) - d,
                failed: i64::from(after.failed_count) - f,
            };
            Ok::<_, diesel::result::Error>((message_id, before))
        });
    Ok(futures_util::future::try_join_all(updates)
        .await?
        .into_iter()
        .collect())
}

static COUNT_TOTALS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE messages SET delivered_count = delivered_count + $2,
             failed_count = failed_count + $3, updated_at = now(), status = {},
             -- A late report changes what a summary counted (see `delivery_summaries`).
             sent_count = CASE WHEN $2 + $3 > 0 THEN NULL ELSE sent_count END
         WHERE id = $1
         RETURNING church_id, recipient_count, delivered_count, failed_count",
        MessageStatus::sql_from_totals(
            "recipient_count",
            "delivered_count + $2",
            "failed_count + $3"
        )
    )
});
