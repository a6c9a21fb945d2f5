//! Notifications: storing them for their audience (with one delivery per channel), each user's
//! inbox (newest first, filtered, searched with PostgreSQL full text), and the user's marks
//! (seen, read, archived). The unread and unseen counts are kept by triggers on the table
//! (migration `000017`), so reading them never counts rows.

use std::collections::HashMap;

use belfry_actors::ports::{Announcement, Audience, NewNotification};
use belfry_actors::protocol::{Category, Notification, NotificationCounts, Priority};
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{DbError, DbPool, get};
use crate::domain::email_plan::{self, EmailPlan};
use crate::domain::text_plan::{self, NO_PHONE, TextStart};
use crate::domain::{InApp, Preferences};

/// Columns of a notification, as [`Row`] reads them.
const COLUMNS: &str = "n.id, n.user_id, n.category, n.priority, n.title, n.body, n.data, \
    n.created_at, n.seen_at, n.read_at, n.archived_at";

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    priority: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    seen_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    read_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archived_at: Option<DateTime<Utc>>,
}

impl Row {
    fn into_notification(self) -> Result<(i64, Notification), DbError> {
        let corrupt = |what: &str, value: &str| DbError::Corrupt(format!("{what} {value:?}"));
        let notification = Notification {
            id: self.id,
            category: Category::parse(&self.category)
                .ok_or_else(|| corrupt("notification category", &self.category))?,
            priority: Priority::parse(&self.priority)
                .ok_or_else(|| corrupt("notification priority", &self.priority))?,
            title: self.title,
            body: self.body,
            data: self.data,
            created_at: self.created_at,
            seen_at: self.seen_at,
            read_at: self.read_at,
            archived_at: self.archived_at,
        };
        Ok((self.user_id, notification))
    }
}

fn notifications(rows: Vec<Row>) -> Result<Vec<Notification>, DbError> {
    rows.into_iter()
        .map(|r| r.into_notification().map(|(_, n)| n))
        .collect()
}

/// Users an audience names who can sign in, with what they chose and their church's time zone
/// (their preferences' default). The `Audience` variant picks the branch.
const AUDIENCE: &str = "SELECT u.id, p.settings, COALESCE(c.timezone, 'UTC') AS timezone, \
        u.phone IS NOT NULL AS has_phone \
    FROM users u LEFT JOIN churches c ON c.id = u.church_id \
    LEFT JOIN notification_preferences p ON p.user_id = u.id \
    WHERE u.disabled_at IS NULL AND ( \
        ($1 = 'users' AND u.id = ANY($2)) \
        OR ($1 = 'operators' AND u.role = 'operator') \
        OR ($1 = 'church_admins' AND u.church_id = $3 AND u.role = 'admin')) \
    ORDER BY u.id";

#[derive(diesel::QueryableByName)]
struct Reached {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Jsonb>)]
    settings: Option<serde_json::Value>,
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    has_phone: bool,
}

/// Stores `new` once for each user of `audience` (not again for one who already has its
/// `dedup_key`), with its in-app delivery as the user's preferences make it at `now`
/// (`delivered`, or `skipped`: kept in the inbox, not pushed), its email delivery (`pending`
/// with its plan and due at once, for the mail courier to time; or `skipped`) and, where
/// `domain::text_plan` says so, its SMS delivery (`pending`, due at once, for the text
/// courier; or `skipped` with no phone), and returns what to push to each of them. Runs on the caller's connection, so it can join the caller's transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    audience: &Audience,
    new: &NewNotification,
    bulk_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<Announcement>, DbError> {
    let (kind, ids, church) = match audience {
        Audience::Users(ids) => ("users", ids.clone(), None),
        Audience::Operators => ("operators", Vec::new(), None),
        Audience::ChurchAdmins(church) => ("church_admins", Vec::new(), Some(*church)),
    };
    let reached: Vec<Reached> = diesel::sql_query(AUDIENCE)
        .bind::<Text, _>(kind)
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Nullable<BigInt>, _>(church)
        .load(conn)
        .await?;
    let mut ways: HashMap<i64, InApp> = HashMap::with_capacity(reached.len());
    let (mut users, mut statuses) = (Vec::new(), Vec::new());
    let mut emails: Vec<Option<&'static str>> = Vec::new();
    let mut texts: Vec<Option<&'static str>> = Vec::new();
    for person in reached {
        let chosen = Preferences::stored_or_default(person.settings, &person.timezone);
        let way = chosen.in_app(new.category, new.priority, now);
        users.push(person.id);
        statuses.push(if way.push { "delivered" } else { "skipped" });
        emails.push(email_plan::plan(&chosen, new.category, new.priority).map(EmailPlan::as_str));
        texts.push(
            text_plan::start(&chosen, new.category, new.priority, person.has_phone)
                .map(TextStart::status),
        );
        ways.insert(person.id, way);
    }
    let sql = format!(
        "WITH chosen AS ( \
             SELECT * FROM unnest($1::bigint[], $2::text[], $11::text[], $13::text[]) \
                 AS c(user_id, in_app, email, sms)), \
         made AS ( \
             INSERT INTO notifications (user_id, church_id, category, priority, title, body, \
                 data, dedup_key, bulk_id) \
             SELECT c.user_id, $3, $4, $5, $6, $7, $8, $9, $10 FROM chosen c ORDER BY c.user_id \
             ON CONFLICT (user_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING \
             RETURNING *), \
         delivered AS ( \
             INSERT INTO notification_deliveries (notification_id, channel, status, reason, \
                 plan, due_at) \
             SELECT m.id, 'in_app', c.in_app, NULL, NULL, NULL \
             FROM made m JOIN chosen c ON c.user_id = m.user_id \
             UNION ALL \
             SELECT m.id, 'email', CASE WHEN c.email IS NULL THEN 'skipped' ELSE 'pending' END, \
                 CASE WHEN c.email IS NULL THEN 'preference' END, c.email, \
                 CASE WHEN c.email IS NOT NULL THEN $12::timestamptz END \
             FROM made m JOIN chosen c ON c.user_id = m.user_id \
             UNION ALL \
             SELECT m.id, 'sms', c.sms, CASE WHEN c.sms = 'skipped' THEN '{NO_PHONE}' END, \
                 CASE WHEN c.sms = 'pending' THEN 'now' END, \
                 CASE WHEN c.sms = 'pending' THEN $12::timestamptz END \
             FROM made m JOIN chosen c ON c.user_id = m.user_id WHERE c.sms IS NOT NULL) \
         SELECT {COLUMNS} FROM made n ORDER BY n.user_id"
    );
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<Array<BigInt>, _>(&users)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Nullable<BigInt>, _>(new.church_id)
        .bind::<Text, _>(new.category.as_str())
        .bind::<Text, _>(new.priority.as_str())
        .bind::<Text, _>(&new.title)
        .bind::<Text, _>(&new.body)
        .bind::<Jsonb, _>(&new.data)
        .bind::<Nullable<Text>, _>(new.dedup_key.as_deref())
        .bind::<Nullable<BigInt>, _>(bulk_id)
        .bind::<Array<Nullable<Text>>, _>(&emails)
        .bind::<Timestamptz, _>(now)
        .bind::<Array<Nullable<Text>>, _>(&texts)
        .load(conn)
        .await?;
    let stored = rows
        .into_iter()
        .map(Row::into_notification)
        .collect::<Result<Vec<_>, _>>()?;
    let users: Vec<i64> = stored.iter().map(|(user, _)| *user).collect();
    let mut counts = counts_of(conn, &users).await?;
    Ok(stored
        .into_iter()
        .map(|(user_id, notification)| {
            let way = ways.get(&user_id).copied().unwrap_or(InApp {
                push: true,
                quiet: false,
            });
            Announcement {
                user_id,
                notification,
                counts: counts.remove(&user_id).unwrap_or_default(),
                push: way.push,
                quiet: way.quiet,
            }
        })
        .collect())
}

#[derive(diesel::QueryableByName)]
struct CounterRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = BigInt)]
    unread: i64,
    #[diesel(sql_type = BigInt)]
    unseen: i64,
}

/// Each user's counts, from the kept counters.
async fn counts_of(
    conn: &mut AsyncPgConnection,
    users: &[i64],
) -> Result<HashMap<i64, NotificationCounts>, DbError> {
    let rows: Vec<CounterRow> = diesel::sql_query(
        "SELECT user_id, category, unread::bigint AS unread, unseen::bigint AS unseen \
         FROM notification_counters WHERE user_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(users)
    .load(conn)
    .await?;
    let mut by_user: HashMap<i64, Vec<(Category, i64, i64)>> =
        users.iter().map(|u| (*u, Vec::new())).collect();
    for row in rows {
        let category = Category::parse(&row.category)
            .ok_or_else(|| DbError::Corrupt(format!("counter category {:?}", row.category)))?;
        by_user
            .entry(row.user_id)
            .or_default()
            .push((category, row.unread, row.unseen));
    }
    Ok(by_user
        .into_iter()
        .map(|(user, rows)| (user, NotificationCounts::from_categories(rows)))
        .collect())
}

/// One user's counts.
pub async fn counts(pool: &DbPool, user_id: i64) -> Result<NotificationCounts, DbError> {
    let mut conn = get(pool).await?;
    Ok(counts_of(&mut conn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default())
}

/// Which notifications an inbox page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Unread,
    Read,
    /// Read and unread; archived ones are left out.
    All,
    Archived,
}

impl Shown {
    pub const NAMES: [&'static str; 4] = ["unread", "read", "all", "archived"];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "unread" => Shown::Unread,
            "read" => Shown::Read,
            "all" => Shown::All,
            "archived" => Shown::Archived,
            _ => return None,
        })
    }

    fn condition(self) -> &'static str {
        match self {
            Shown::Unread => "n.archived_at IS NULL AND n.read_at IS NULL",
            Shown::Read => "n.archived_at IS NULL AND n.read_at IS NOT NULL",
            Shown::All => "n.archived_at IS NULL",
            Shown::Archived => "n.archived_at IS NOT NULL",
        }
    }
}

/// An inbox page's question.
#[derive(Debug, Clone)]
pub struct InboxQuery<'a> {
    pub shown: Shown,
    pub category: Option<Category>,
    /// Words that must all be in the title or body.
    pub search: Option<&'a str>,
    /// Only notifications older than this one (the previous page's last).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A page of the user's inbox, newest first: one more than `limit` when there is more.
pub async fn inbox(
    pool: &DbPool,
    user_id: i64,
    query: &InboxQuery<'_>,
) -> Result<Vec<Notification>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications n \
         WHERE n.user_id = $1 AND {shown} \
           AND ($2::text IS NULL OR n.category = $2) \
           AND ($3::text IS NULL OR n.search @@ websearch_to_tsquery('simple', $3)) \
           AND ($4::bigint IS NULL OR n.id < $4) \
         ORDER BY n.id DESC LIMIT $5",
        shown = query.shown.condition()
    );
    let mut conn = get(pool).await?;
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Nullable<Text>, _>(query.category.map(Category::as_str))
        .bind::<Nullable<Text>, _>(query.search)
        .bind::<Nullable<BigInt>, _>(query.before)
        .bind::<BigInt, _>(query.limit + 1)
        .load(&mut conn)
        .await?;
    notifications(rows)
}

/// A mark a user puts on one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Read,
    Unread,
    Archive,
}

impl Mark {
    /// The notification's columns after it, and its in-app delivery's status (archiving
    /// leaves that as it was).
    fn change(self) -> (&'static str, Option<&'static str>) {
        match self {
            Mark::Read => (
                "read_at = COALESCE(read_at, $3), seen_at = COALESCE(seen_at, $3)",
                Some("read"),
            ),
            Mark::Unread => ("read_at = NULL", Some("delivered")),
            Mark::Archive => ("archived_at = COALESCE(archived_at, $3)", None),
        }
    }
}

/// Marks one of the user's notifications; `None` if they have no such notification.
pub async fn mark(
    pool: &DbPool,
    user_id: i64,
    id: i64,
    mark: Mark,
    at: DateTime<Utc>,
) -> Result<Option<(Notification, NotificationCounts)>, DbError> {
    let (set, delivery) = mark.change();
    let delivery = delivery
        .map(|status| {
            format!(
                ", delivery AS (UPDATE notification_deliveries d \
                   SET status = '{status}', updated_at = $3 \
                   FROM changed n WHERE d.notification_id = n.id AND d.channel = 'in_app')"
            )
        })
        .unwrap_or_default();
    let sql = format!(
        "WITH changed AS ( \
             UPDATE notifications SET {set} WHERE id = $1 AND user_id = $2 RETURNING *) \
         {delivery} SELECT {COLUMNS} FROM changed n"
    );
    let mut conn = get(pool).await?;
    let rows: Vec<Row> = diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(user_id)
        .bind::<Timestamptz, _>(at)
        .load(&mut conn)
        .await?;
    let Some(notification) = notifications(rows)?.pop() else {
        return Ok(None);
    };
    let counts = counts_of(&mut conn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok(Some((notification, counts)))
}

#[derive(diesel::QueryableByName)]
struct UpTo {
    #[diesel(sql_type = Nullable<BigInt>)]
    up_to: Option<i64>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Marks every unread notification of the user (of `category`, or all) read. Returns the
/// newest id it covered (`None` when there were none) and the counts after, and how many it
/// read.
pub async fn read_all(
    pool: &DbPool,
    user_id: i64,
    category: Option<Category>,
    at: DateTime<Utc>,
) -> Result<((Option<i64>, NotificationCounts), u64), DbError> {
    let sql = "WITH changed AS ( \
             UPDATE notifications SET read_at = $3, seen_at = COALESCE(seen_at, $3) \
             WHERE user_id = $1 AND read_at IS NULL AND archived_at IS NULL \
               AND ($2::text IS NULL OR category = $2) RETURNING id), \
         delivery AS ( \
             UPDATE notification_deliveries d SET status = 'read', updated_at = $3 \
             FROM changed c WHERE d.notification_id = c.id AND d.channel = 'in_app') \
         SELECT max(id) AS up_to, count(*) AS n FROM changed";
    marked_up_to(pool, user_id, sql, category, at).await
}

/// The user looked at the badge: every notification they have now is seen.
pub async fn seen(
    pool: &DbPool,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<(Option<i64>, NotificationCounts), DbError> {
    let sql = "WITH changed AS ( \
             UPDATE notifications SET seen_at = $3 \
             WHERE user_id = $1 AND seen_at IS NULL AND read_at IS NULL AND archived_at IS NULL \
               AND ($2::text IS NULL OR category = $2) RETURNING id) \
         SELECT max(id) AS up_to, count(*) AS n FROM changed";
    let (marked, _) = marked_up_to(pool, user_id, sql, None, at).await?;
    Ok(marked)
}

async fn marked_up_to(
    pool: &DbPool,
    user_id: i64,
    sql: &'static str,
    category: Option<Category>,
    at: DateTime<Utc>,
) -> Result<((Option<i64>, NotificationCounts), u64), DbError> {
    let mut conn = get(pool).await?;
    let up_to: Vec<UpTo> = diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Nullable<Text>, _>(category.map(Category::as_str))
        .bind::<Timestamptz, _>(at)
        .load(&mut conn)
        .await?;
    let counts = counts_of(&mut conn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    let marked = up_to.into_iter().next();
    let n = marked.as_ref().map_or(0, |m| m.n as u64);
    Ok(((marked.and_then(|m| m.up_to), counts), n))
}
