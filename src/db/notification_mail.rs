//! Notifications' email deliveries as the mail courier works through them: claiming the ones
//! that are due (each with what deciding and writing its email needs) and recording what
//! became of them (the text courier records its SMS deliveries here too).
//!
//! Claiming moves a delivery's `due_at` on by a lease: two nodes never hold one at once, and
//! one that a dying node held is claimed again when the lease runs out (so an email may, rarely,
//! go twice; never not at all).

use belfry_actors::protocol::{Category, Priority};
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use super::{DbError, DbPool, get};
use crate::domain::Preferences;
use crate::domain::email_plan::{DIGEST, EmailPlan};

/// What the courier needs of one due email delivery.
#[derive(Debug, Clone)]
pub struct DueEmail {
    pub notification_id: i64,
    pub user_id: i64,
    pub church_id: Option<i64>,
    pub plan: EmailPlan,
    pub category: Category,
    pub priority: Priority,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Read or archived in the app.
    pub dealt_with: bool,
    /// Held for its digest window, which has come.
    pub digest_window: bool,
    /// Sends tried so far.
    pub attempts: i32,
    pub to: String,
    pub name: String,
    pub preferences: Preferences,
    /// What the email says when its send was made from a template.
    pub written: Option<WrittenEmail>,
}

/// An email a template wrote: subject, text, and HTML if the template had it.
#[derive(Debug, Clone)]
pub struct WrittenEmail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    notification_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    church_id: Option<i64>,
    #[diesel(sql_type = Text)]
    plan: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    priority: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    dealt_with: bool,
    #[diesel(sql_type = Bool)]
    digest_window: bool,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Jsonb>)]
    settings: Option<serde_json::Value>,
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = Nullable<Text>)]
    email_subject: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    email_text: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    email_html: Option<String>,
}

impl Row {
    fn into_due(self) -> Result<DueEmail, DbError> {
        let corrupt = |what: &str, value: &str| DbError::Corrupt(format!("{what} {value:?}"));
        Ok(DueEmail {
            notification_id: self.notification_id,
            user_id: self.user_id,
            church_id: self.church_id,
            plan: EmailPlan::parse(&self.plan).ok_or_else(|| corrupt("email plan", &self.plan))?,
            category: Category::parse(&self.category)
                .ok_or_else(|| corrupt("notification category", &self.category))?,
            priority: Priority::parse(&self.priority)
                .ok_or_else(|| corrupt("notification priority", &self.priority))?,
            title: self.title,
            body: self.body,
            created_at: self.created_at,
            dealt_with: self.dealt_with,
            digest_window: self.digest_window,
            attempts: self.attempts,
            to: self.email,
            name: self.name,
            preferences: Preferences::stored_or_default(self.settings, &self.timezone),
            written: match (self.email_subject, self.email_text) {
                (Some(subject), Some(text)) => Some(WrittenEmail {
                    subject,
                    text,
                    html: self.email_html,
                }),
                _ => None,
            },
        })
    }
}

/// The claimed deliveries, with their notification, user and preferences.
const CLAIMED: &str = "claimed AS ( \
        UPDATE notification_deliveries d SET due_at = $1 + make_interval(secs => $2), \
            updated_at = now() \
        FROM due WHERE d.notification_id = due.notification_id AND d.channel = 'email' \
        RETURNING d.notification_id, d.plan, d.attempts, \
            COALESCE(d.status = 'held' AND d.reason = 'digest', false) AS digest_window) \
    SELECT c.notification_id, n.user_id, n.church_id, c.plan, n.category, n.priority, n.title, \
        n.body, n.created_at, (n.read_at IS NOT NULL OR n.archived_at IS NOT NULL) AS dealt_with, \
        c.digest_window, c.attempts, u.email, u.name, p.settings, \
        COALESCE(ch.timezone, 'UTC') AS timezone, s.email_subject, s.email_text, s.email_html \
    FROM claimed c JOIN notifications n ON n.id = c.notification_id \
    LEFT JOIN notification_sends s ON s.id = n.bulk_id \
    JOIN users u ON u.id = n.user_id LEFT JOIN churches ch ON ch.id = u.church_id \
    LEFT JOIN notification_preferences p ON p.user_id = n.user_id \
    ORDER BY n.user_id, n.created_at, n.id";

/// Claims up to `limit` email deliveries due at `now` for `lease_secs`, oldest first, except
/// those a digest window holds (see [`claim_digests`]).
pub async fn claim_due(
    pool: &DbPool,
    now: DateTime<Utc>,
    lease_secs: f64,
    limit: i64,
) -> Result<Vec<DueEmail>, DbError> {
    let sql = format!(
        "WITH due AS ( \
             SELECT d.notification_id FROM notification_deliveries d \
             WHERE d.status IN ('pending', 'held') AND d.due_at <= $1 AND d.channel = 'email' \
                 AND NOT (d.status = 'held' AND d.reason = '{DIGEST}') \
             ORDER BY d.due_at LIMIT $3 FOR UPDATE SKIP LOCKED), {CLAIMED}"
    );
    claim(pool, &sql, now, lease_secs, limit).await
}

/// Claims, for up to `users` users whose digest window has come by `now`, every email their
/// digest holds, so that each user's digest goes as one email.
pub async fn claim_digests(
    pool: &DbPool,
    now: DateTime<Utc>,
    lease_secs: f64,
    users: i64,
) -> Result<Vec<DueEmail>, DbError> {
    let held = format!(
        "d.channel = 'email' AND d.status = 'held' AND d.reason = '{DIGEST}' AND d.due_at <= $1"
    );
    let sql = format!(
        "WITH owners AS ( \
             SELECT DISTINCT n.user_id FROM notification_deliveries d \
             JOIN notifications n ON n.id = d.notification_id WHERE {held} LIMIT $3), \
         due AS ( \
             SELECT d.notification_id FROM notification_deliveries d \
             JOIN notifications n ON n.id = d.notification_id \
             WHERE {held} AND n.user_id IN (SELECT user_id FROM owners) \
             FOR UPDATE OF d SKIP LOCKED), {CLAIMED}"
    );
    claim(pool, &sql, now, lease_secs, users).await
}

async fn claim(
    pool: &DbPool,
    sql: &str,
    now: DateTime<Utc>,
    lease_secs: f64,
    limit: i64,
) -> Result<Vec<DueEmail>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<diesel::sql_types::Double, _>(lease_secs)
        .bind::<BigInt, _>(limit)
        .load(&mut conn)
        .await?;
    rows.into_iter().map(Row::into_due).collect()
}

/// What became of a claimed email or SMS delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// A text the carrier accepted, with its id for the carrier's reports.
    Texted(String),
    /// Not sent, for good: refused by the mail server, or no longer needed.
    Failed(String),
    Skipped(&'static str),
    /// Looked at again at `due`: a send that failed for now (`tried`), or a plan moved on.
    Later {
        plan: EmailPlan,
        due: DateTime<Utc>,
        held: bool,
        reason: Option<String>,
        tried: bool,
    },
}

impl Outcome {
    /// The delivery's status once this is recorded.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Sent | Outcome::Texted(_) => "sent",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
            Outcome::Later { held: true, .. } => "held",
            Outcome::Later { held: false, .. } => "pending",
        }
    }
}

/// Records what became of claimed deliveries of `channel` (`email` or `sms`), in one
/// statement, at `now`.
pub async fn record(
    pool: &DbPool,
    channel: &str,
    outcomes: &[(i64, Outcome)],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut statuses = Vec::with_capacity(outcomes.len());
    let mut reasons: Vec<Option<String>> = Vec::with_capacity(outcomes.len());
    let mut plans: Vec<Option<&'static str>> = Vec::with_capacity(outcomes.len());
    let mut dues: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(outcomes.len());
    let mut tried = Vec::with_capacity(outcomes.len());
    let mut carrier_ids: Vec<Option<&str>> = Vec::with_capacity(outcomes.len());
    for (id, outcome) in outcomes {
        ids.push(*id);
        statuses.push(outcome.status());
        carrier_ids.push(match outcome {
            Outcome::Texted(carrier_id) => Some(carrier_id),
            _ => None,
        });
        let (reason, plan, due, attempt) = match outcome {
            Outcome::Sent | Outcome::Texted(_) => (None, None, None, true),
            Outcome::Failed(why) => (Some(why.clone()), None, None, true),
            Outcome::Skipped(why) => (Some((*why).to_owned()), None, None, false),
            Outcome::Later {
                plan,
                due,
                reason,
                tried,
                ..
            } => (reason.clone(), Some(plan.as_str()), Some(*due), *tried),
        };
        reasons.push(reason);
        plans.push(plan);
        dues.push(due);
        tried.push(attempt as i32);
    }
    let mut conn = get(pool).await?;
    diesel::sql_query(
        "UPDATE notification_deliveries d SET status = o.status, reason = o.reason, \
             plan = COALESCE(o.plan, d.plan), due_at = o.due, attempts = d.attempts + o.tried, \
             sent_at = CASE WHEN o.status = 'sent' THEN $7 ELSE d.sent_at END, \
             provider_message_id = COALESCE(o.carrier_id, d.provider_message_id), \
             updated_at = now() \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
             $6::int[], $9::text[]) AS o(id, status, reason, plan, due, tried, carrier_id) \
         WHERE d.notification_id = o.id AND d.channel = $8",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<Nullable<Text>>, _>(&reasons)
    .bind::<Array<Nullable<Text>>, _>(&plans)
    .bind::<Array<Nullable<Timestamptz>>, _>(&dues)
    .bind::<Array<Integer>, _>(&tried)
    .bind::<Timestamptz, _>(now)
    .bind::<Text, _>(channel)
    .bind::<Array<Nullable<Text>>, _>(&carrier_ids)
    .execute(&mut conn)
    .await?;
    Ok(())
}
