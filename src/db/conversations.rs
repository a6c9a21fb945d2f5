//! Conversations: one per church and phone that replied, its thread of lines, and unread counts.
//! Replies arrive through `db::inbound`; what the church sends a phone with a conversation is
//! added to its thread as the message is created ([`record_outbound`]).

use belfry_actors::protocol::{ConversationLine, Direction};
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::cursor::Cursor;
use super::{DbError, DbPool, get};

/// A conversation with the member its phone belongs to in the church, if any.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct ConversationRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub phone: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub member_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub member_name: Option<String>,
    #[diesel(sql_type = Int4)]
    pub unread: i32,
    #[diesel(sql_type = Text)]
    pub last_direction: String,
    #[diesel(sql_type = Text)]
    pub last_body: String,
    #[diesel(sql_type = Timestamptz)]
    pub last_at: DateTime<Utc>,
}

/// The member is whoever in the church has the phone now: adding the phone as a member later
/// names the conversation.
const SELECT_CONVERSATION: &str = "SELECT c.id, c.phone, m.id AS member_id, m.name AS member_name, \
        c.unread, c.last_direction, c.last_body, c.last_at \
     FROM conversations c \
     LEFT JOIN members m ON m.church_id = c.church_id AND m.phone = c.phone AND m.removed_at IS NULL";

pub async fn list(
    pool: &DbPool,
    church_id: i64,
    unread_only: bool,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<ConversationRow>, DbError> {
    let mut conn = get(pool).await?;
    let unread = if unread_only { " AND c.unread > 0" } else { "" };
    let sql = format!(
        "{SELECT_CONVERSATION} WHERE c.church_id = $1{unread} \
           AND ($2::timestamptz IS NULL OR (c.last_at, c.id) < ($2, $3)) \
         ORDER BY c.last_at DESC, c.id DESC LIMIT $4"
    );
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(church_id)
        .bind::<Nullable<Timestamptz>, _>(after.map(|c| c.at))
        .bind::<BigInt, _>(after.map_or(0, |c| c.id))
        .bind::<BigInt, _>(limit)
        .load(&mut conn)
        .await?)
}

/// The church's conversation `id`; `None` for another church's or nobody's.
pub async fn find(
    pool: &DbPool,
    church_id: i64,
    id: i64,
) -> Result<Option<ConversationRow>, DbError> {
    let mut conn = get(pool).await?;
    find_in(&mut conn, church_id, id).await
}

pub(super) async fn find_in(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    id: i64,
) -> Result<Option<ConversationRow>, DbError> {
    let found: Vec<ConversationRow> = diesel::sql_query(format!(
        "{SELECT_CONVERSATION} WHERE c.church_id = $1 AND c.id = $2"
    ))
    .bind::<BigInt, _>(church_id)
    .bind::<BigInt, _>(id)
    .load(conn)
    .await?;
    Ok(found.into_iter().next())
}

#[derive(diesel::QueryableByName)]
struct LineRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    direction: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    message_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    failure_reason: Option<String>,
}

impl LineRow {
    fn line(self) -> ConversationLine {
        ConversationLine {
            id: self.id,
            // The column's check allows only these three.
            direction: Direction::parse(&self.direction).unwrap_or(Direction::System),
            body: self.body,
            at: self.at,
            message_id: self.message_id,
            status: self.status,
            failure_reason: self.failure_reason,
        }
    }
}

const SELECT_LINE: &str = "SELECT e.id, e.direction, e.body, e.at, e.message_id, r.status, \
        r.failure_reason \
     FROM conversation_entries e LEFT JOIN message_recipients r ON r.id = e.recipient_id";

/// Up to `limit` lines of the thread before line `before` (the newest without it), oldest
/// first.
pub async fn thread(
    pool: &DbPool,
    conversation_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ConversationLine>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<LineRow> = diesel::sql_query(format!(
        "{SELECT_LINE} WHERE e.conversation_id = $1 AND ($2::bigint IS NULL OR e.id < $2) \
         ORDER BY e.id DESC LIMIT $3"
    ))
    .bind::<BigInt, _>(conversation_id)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().rev().map(LineRow::line).collect())
}

pub(super) async fn lines(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<Vec<ConversationLine>, DbError> {
    let rows: Vec<LineRow> =
        diesel::sql_query(format!("{SELECT_LINE} WHERE e.id = ANY($1) ORDER BY e.id"))
            .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(LineRow::line).collect())
}

#[derive(diesel::QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Unread lines in all of the church's conversations.
pub(super) async fn unread_total_in(
    conn: &mut AsyncPgConnection,
    church_id: i64,
) -> Result<i64, DbError> {
    let total: Total = diesel::sql_query(
        "SELECT COALESCE(sum(unread), 0)::bigint AS total FROM conversations WHERE church_id = $1",
    )
    .bind::<BigInt, _>(church_id)
    .get_result(conn)
    .await?;
    Ok(total.total)
}

pub async fn unread_total(pool: &DbPool, church_id: i64) -> Result<i64, DbError> {
    let mut conn = get(pool).await?;
    unread_total_in(&mut conn, church_id).await
}

/// Marks the church's conversation read; the church's unread total after it, or `None` if
/// there is no such conversation.
pub async fn mark_read(pool: &DbPool, church_id: i64, id: i64) -> Result<Option<i64>, DbError> {
    let mut conn = get(pool).await?;
    let changed =
        diesel::sql_query("UPDATE conversations SET unread = 0 WHERE church_id = $1 AND id = $2")
            .bind::<BigInt, _>(church_id)
            .bind::<BigInt, _>(id)
            .execute(&mut conn)
            .await?;
    if changed == 0 {
        return Ok(None);
    }
    Ok(Some(unread_total_in(&mut conn, church_id).await?))
}

/// A line a new message added to a conversation.
#[derive(Debug, Clone)]
pub struct OutboundLine {
    pub conversation_id: i64,
    pub line: ConversationLine,
    pub unread: i64,
}

#[derive(diesel::QueryableByName)]
struct Added {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = BigInt)]
    entry_id: i64,
    #[diesel(sql_type = Int4)]
    unread: i32,
}

/// Adds message `message_id` to the thread of every recipient's phone that has a conversation
/// with the church, in the transaction creating it; the lines added.
pub(super) async fn record_outbound(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    message_id: i64,
    body: &str,
) -> Result<Vec<OutboundLine>, DbError> {
    let mut added: Vec<Added> = diesel::sql_query(
        "WITH hit AS ( \
             SELECT c.id AS conversation_id, r.id AS recipient_id, COALESCE(r.body, $3) AS body \
             FROM message_recipients r \
             JOIN conversations c ON c.church_id = $1 AND c.phone = r.phone \
             WHERE r.message_id = $2 \
         ), added AS ( \
             INSERT INTO conversation_entries (conversation_id, direction, body, recipient_id, message_id) \
             SELECT conversation_id, 'outbound', body, recipient_id, $2 FROM hit ORDER BY recipient_id \
             RETURNING conversation_id, id \
         ), moved AS ( \
             UPDATE conversations c SET last_direction = 'outbound', last_body = hit.body, last_at = now() \
             FROM hit WHERE c.id = hit.conversation_id \
             RETURNING c.id, c.unread \
         ) \
         SELECT added.conversation_id, added.id AS entry_id, moved.unread \
         FROM added JOIN moved ON moved.id = added.conversation_id",
    )
    .bind::<BigInt, _>(church_id)
    .bind::<BigInt, _>(message_id)
    .bind::<Text, _>(body)
    .load(conn)
    .await?;
    if added.is_empty() {
        return Ok(Vec::new());
    }
    // In the order of `lines`.
    added.sort_by_key(|a| a.entry_id);
    let ids: Vec<i64> = added.iter().map(|a| a.entry_id).collect();
    let lines = lines(conn, &ids).await?;
    Ok(added
        .into_iter()
        .zip(lines)
        .map(|(a, line)| OutboundLine {
            conversation_id: a.conversation_id,
            line,
            unread: i64::from(a.unread),
        })
        .collect())
}
