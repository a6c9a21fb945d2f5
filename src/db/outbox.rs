//! The outbox queries: claiming due recipients, marking attempts, scheduling retries, and
//! recovering what a previous process left unfinished.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use super::prepared::Prepare;
use belfry_actors::ports::OutboundSms;
use belfry_actors::ports::{AttemptRecord, Recovery};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::messages::{Applied, finish};
use super::schema::{delivery_attempts, message_recipients};
use super::{DbError, DbPool, get};
use belfry_actors::status::RecipientStatus;

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    phone: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = BigInt)]
    church_id: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    from_number: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    urgent: bool,
}

/// A recipient waiting on purpose: its church paused its sending (see
/// `belfry_actors::delivery::church_holds`), or is inside its quiet hours and the message is
/// not urgent. Left in the outbox, in order, until the hold ends. `now` is the SQL of the
/// quiet-hours clock's time (see `crate::clock`), bound by the caller.
fn not_held(now: &str) -> String {
    format!(
        "NOT EXISTS (
    SELECT 1 FROM messages hm JOIN churches hc ON hc.id = hm.church_id
    WHERE hm.id = message_recipients.message_id AND (hc.sending_paused_at IS NOT NULL
        OR (NOT hm.urgent AND hc.quiet_hours_enabled
            AND hc.quiet_from <= {now} AND {now} < hc.quiet_until)))"
    )
}

/// When a ready recipient `r` (of message `m`, church `c`) may go, on the quiet-hours clock
/// (`now` is its time): its own due time (the store's `next_attempt_at`, carried over to that
/// clock), or the end of the church's quiet hours if that time falls inside them.
fn may_go_at(now: &str) -> String {
    let due = format!("({now} + GREATEST(r.next_attempt_at - now(), interval '0'))");
    format!(
        "CASE WHEN NOT m.urgent AND c.quiet_hours_enabled
            AND c.quiet_from <= {due} AND {due} < c.quiet_until
        THEN c.quiet_until ELSE {due} END"
    )
}

/// Built once: the outbox claims several times a second.
static CLAIM_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH due AS (
             SELECT id FROM message_recipients
             WHERE outbox_state = 'ready' AND next_attempt_at <= now() AND {not_held}
             ORDER BY next_attempt_at, id
             LIMIT $1
             FOR UPDATE OF message_recipients SKIP LOCKED
         )
         UPDATE message_recipients r SET outbox_state = 'claimed', claimed_by = $3
         FROM due, messages m, churches c
         WHERE r.id = due.id AND m.id = r.message_id AND c.id = m.church_id
         RETURNING r.id, r.phone, COALESCE(r.body, m.body) AS body, m.church_id, c.from_number,
                   m.urgent",
        not_held = not_held("$2")
    )
});

static NEXT_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT min({may_go_at}) AS at
         FROM message_recipients r
         JOIN messages m ON m.id = r.message_id JOIN churches c ON c.id = m.church_id
         WHERE r.outbox_state = 'ready' AND c.sending_paused_at IS NULL",
        may_go_at = may_go_at("$1")
    )
});

static DEPTH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT count(*) FILTER (WHERE outbox_state = 'ready') AS ready,
                count(*) FILTER (WHERE outbox_state = 'claimed') AS claimed,
                count(*) FILTER (WHERE outbox_state = 'attempting') AS attempting,
                COALESCE(EXTRACT(EPOCH FROM now() - min(next_attempt_at) FILTER (
                    WHERE outbox_state = 'ready' AND next_attempt_at <= now() AND {not_held})),
                    0)::float8 AS oldest_due_seconds
         FROM message_recipients WHERE outbox_state IN ('ready', 'claimed', 'attempting')",
        not_held = not_held("$1")
    )
});

/// Claims up to `limit` due recipients, `now` being the quiet-hours clock's time. `SKIP
/// LOCKED` lets several claimers share the outbox.
pub async fn claim_due(
    pool: &DbPool,
    node: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<OutboundSms>, DbError> {
    let mut conn = get(pool).await?;
    let claimed: Vec<Claimed> = diesel::sql_query(CLAIM_DUE.as_str())
        .bind::<BigInt, _>(limit as i64)
        .bind::<Timestamptz, _>(now)
        .bind::<Text, _>(node)
        .prepared()
        .load(&mut conn)
        .await?;
    let mut jobs: Vec<OutboundSms> = claimed
        .into_iter()
        .map(|c| OutboundSms {
            recipient_id: c.id,
            church_id: c.church_id,
            to: c.phone,
            text: c.body,
            from: c.from_number,
            urgent: c.urgent,
        })
        .collect();
    // UPDATE … RETURNING does not keep the CTE's order.
    jobs.sort_by_key(|j| j.recipient_id);
    Ok(jobs)
}

#[derive(QueryableByName)]
struct NextDue {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How long until the next recipient may be claimed (paused churches' do not count, and a
/// church's quiet hours move its recipients to their end: the outbox would wake for work it
/// may not claim). `now` is the quiet-hours clock's time.
pub async fn next_due_in(pool: &DbPool, now: DateTime<Utc>) -> Result<Option<Duration>, DbError> {
    let mut conn = get(pool).await?;
    let next: NextDue = diesel::sql_query(NEXT_DUE.as_str())
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)
        .await?;
    Ok(next
        .at
        .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO)))
}

/// What the outbox holds now, for `/metrics`.
#[derive(QueryableByName, Debug, Clone, Copy)]
pub struct Depth {
    #[diesel(sql_type = BigInt)]
    pub ready: i64,
    #[diesel(sql_type = BigInt)]
    pub claimed: i64,
    #[diesel(sql_type = BigInt)]
    pub attempting: i64,
    /// Seconds the oldest due recipient has waited (held ones do not count: they wait on
    /// purpose).
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub oldest_due_seconds: f64,
}

/// `now` is the quiet-hours clock's time.
pub async fn depth(pool: &DbPool, now: DateTime<Utc>) -> Result<Depth, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(DEPTH.as_str())
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)
        .await?)
}

pub const SKIPPED_OPTED_OUT: &str = "skipped: the member opted out (replied STOP)";

pub enum Begin {
    /// Send it: attempt number `.0`.
    Go(u32),
    /// No longer claimed.
    Gone,
    /// The member opted out; the recipient was moved to `skipped` if this call did it.
    OptedOut(Option<Applied>),
}

#[derive(QueryableByName)]
struct Started {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// Moves recipients `node` claimed to `attempting` in one statement, unless their member has
/// opted out meanwhile, in which case the recipient ends `skipped`. A recipient another node
/// holds now (this node's lease ran out and it was recovered) is `Gone`: the claim is the
/// fence. One answer per id, in order.
pub async fn begin_attempts(
    pool: &DbPool,
    node: &str,
    recipient_ids: &[i64],
) -> Result<Vec<Begin>, DbError> {
    let mut conn = get(pool).await?;
    let started: Vec<Started> = diesel::sql_query(
        "UPDATE message_recipients r
         SET outbox_state = 'attempting', attempts = r.attempts + 1, updated_at = now()
         WHERE r.id = ANY($1) AND r.outbox_state = 'claimed' AND r.claimed_by = $2
           AND NOT EXISTS (SELECT 1 FROM members m
                           WHERE m.id = r.member_id AND m.opted_out_at IS NOT NULL)
         RETURNING r.id, r.attempts",
    )
    .bind::<Array<BigInt>, _>(recipient_ids)
    .bind::<Text, _>(node)
    .prepared()
    .load(&mut conn)
    .await?;
    let started: HashMap<i64, i32> = started.into_iter().map(|s| (s.id, s.attempts)).collect();
    let mut answers = Vec::with_capacity(recipient_ids.len());
    for id in recipient_ids {
        answers.push(match started.get(id) {
            Some(&attempts) => Begin::Go(attempts as u32),
            // Rare: only an opted-out member or a recipient handled elsewhere gets here.
            None => not_started(&mut conn, node, *id).await?,
        });
    }
    Ok(answers)
}

async fn not_started(
    conn: &mut AsyncPgConnection,
    node: &str,
    recipient_id: i64,
) -> Result<Begin, DbError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        id: i64,
    }
    let still_claimed: Option<Id> = diesel::sql_query(
        "SELECT id FROM message_recipients
         WHERE id = $1 AND outbox_state = 'claimed' AND claimed_by = $2",
    )
    .bind::<BigInt, _>(recipient_id)
    .bind::<Text, _>(node)
    .get_result(conn)
    .await
    .optional()?;
    if still_claimed.is_none() {
        return Ok(Begin::Gone);
    }
    let skipped = finish(
        conn,
        recipient_id,
        RecipientStatus::Skipped,
        SKIPPED_OPTED_OUT,
    )
    .await?;
    Ok(Begin::OptedOut(skipped))
}

pub async fn record_attempt(
    conn: &mut diesel_async::AsyncPgConnection,
    recipient_id: i64,
    attempt: &AttemptRecord,
) -> Result<(), diesel::result::Error> {
    let at = chrono::DateTime::parse_from_rfc3339(&attempt.at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    diesel::insert_into(delivery_attempts::table)
        .values((
            delivery_attempts::recipient_id.eq(recipient_id),
            delivery_attempts::attempt.eq(attempt.attempt as i32),
            delivery_attempts::at.eq(at),
            delivery_attempts::http_status.eq(attempt.http_status.map(i32::from)),
            delivery_attempts::code.eq(attempt.code.as_deref()),
            delivery_attempts::detail.eq(&attempt.detail),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

type AttemptRow = (
    i32,
    chrono::DateTime<chrono::Utc>,
    Option<i32>,
    Option<String>,
    String,
);

/// Every stored attempt of a recipient, oldest first.
pub async fn attempts_of(
    conn: &mut diesel_async::AsyncPgConnection,
    recipient_id: i64,
) -> Result<Vec<AttemptRecord>, diesel::result::Error> {
    use delivery_attempts::dsl as a;
    let rows: Vec<AttemptRow> = a::delivery_attempts
        .filter(a::recipient_id.eq(recipient_id))
        .order((a::attempt.asc(), a::id.asc()))
        .select((a::attempt, a::at, a::http_status, a::code, a::detail))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(attempt, at, http_status, code, detail)| AttemptRecord {
            attempt: attempt as u32,
            at: belfry_actors::protocol::timestamp_of(at),
            http_status: http_status.and_then(|s| u16::try_from(s).ok()),
            code,
            detail,
        })
        .collect())
}

pub async fn schedule_retry(
    pool: &DbPool,
    recipient_id: i64,
    attempt: &AttemptRecord,
    delay: Duration,
) -> Result<(), DbError> {
    use message_recipients::dsl as r;
    let due = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
    let mut conn = get(pool).await?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        record_attempt(conn, recipient_id, attempt).await?;
        diesel::update(
            r::message_recipients
                .filter(r::id.eq(recipient_id))
                .filter(r::outbox_state.eq("attempting")),
        )
        .set((
            r::outbox_state.eq("ready"),
            r::next_attempt_at.eq(due),
            r::updated_at.eq(chrono::Utc::now()),
        ))
        .execute(conn)
        .await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Recovers what dead nodes left in the outbox: rows claimed by a node whose lease (`lease`)
/// ran out, by no node (claimed before nodes had ids), or, with `own`, by `node` itself (its
/// previous run: a node's first recovery, before it claims anything). Claimed rows go back to
/// ready; attempting rows are reported, not resent, and taken over by `node` in the same
/// statement, so that two nodes recovering at once report each row once.
pub async fn recover_interrupted(
    pool: &DbPool,
    node: &str,
    lease: Duration,
    own: bool,
) -> Result<Recovery, DbError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let orphaned = format!(
        "outbox_state = $4 AND (claimed_by IS NULL OR ($3 AND claimed_by = $1) \
             OR (claimed_by <> $1 AND NOT {alive}))",
        alive = super::nodes::alive("claimed_by", "$2")
    );
    let mut conn = get(pool).await?;
    let requeued = diesel::sql_query(format!(
        "UPDATE message_recipients SET outbox_state = 'ready', claimed_by = NULL \
         WHERE {orphaned}"
    ))
    .bind::<Text, _>(node)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .bind::<diesel::sql_types::Bool, _>(own)
    .bind::<Text, _>("claimed")
    .execute(&mut conn)
    .await?;
    let mut interrupted: Vec<i64> = diesel::sql_query(format!(
        "UPDATE message_recipients SET claimed_by = $1 WHERE {orphaned} RETURNING id"
    ))
    .bind::<Text, _>(node)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .bind::<diesel::sql_types::Bool, _>(own)
    .bind::<Text, _>("attempting")
    .load::<Id>(&mut conn)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect();
    interrupted.sort_unstable();
    Ok(Recovery {
        requeued: requeued as u64,
        interrupted,
    })
}
