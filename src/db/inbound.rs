//! A text a phone sent: which church it is for, its opt keyword applied, and its line in that
//! church's conversation with the phone, all in one transaction with the event's dedup mark.
//!
//! Which church: the one whose own number it was sent to; on the platform's shared number, the
//! church (of those without their own number) that last messaged the phone, else one where the
//! phone is a member. A text nobody can be found for is kept in `unrouted_replies` for
//! operators. STOP and START follow the carrier: on a church's own number they concern that
//! church only; on the shared number, every church sending from it, since the carrier blocks
//! the pair of numbers itself.

use belfry_actors::protocol::ConversationLine;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::conversations::{ConversationRow, find_in, lines, unread_total_in};
use super::{DbError, DbPool, get, webhook_events};
use crate::domain::OptKeyword;

/// A text as the webhook read it.
pub struct InboundText<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub from: &'a str,
    /// The number it was sent to (`None` when the carrier did not say: the shared number).
    pub to: Option<&'a str>,
    /// The platform's shared sender number.
    pub platform_number: &'a str,
    pub body: &'a str,
    pub keyword: Option<OptKeyword>,
}

/// What became of a text.
pub enum Received {
    /// This event was applied before.
    Duplicate,
    /// No church could be found; kept for operators. Members opted out or in, if any.
    Unrouted {
        opted: usize,
    },
    Church(Arrived),
}

pub struct Arrived {
    pub church_id: i64,
    pub conversation: ConversationRow,
    /// The text's line, then a system line if it was an opt keyword.
    pub lines: Vec<ConversationLine>,
    pub unread_total: i64,
    /// Members opted out or back in by it.
    pub opted: usize,
}

/// The number a text was sent to: a church's own, the shared one, or one nobody uses.
enum Addressed {
    Church(i64),
    Shared,
    Nobody,
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(diesel::QueryableByName)]
struct Upserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bool)]
    created: bool,
}

pub async fn receive(pool: &DbPool, text: &InboundText<'_>) -> Result<Received, DbError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, DbError, _>(async |conn| {
        if !webhook_events::record_new(conn, text.event_id, text.event_type).await? {
            return Ok(Received::Duplicate);
        }
        let addressed = addressed(conn, text).await?;
        let opted = match text.keyword {
            Some(keyword) => opt(conn, &addressed, text.from, keyword).await?,
            None => 0,
        };
        let church = match addressed {
            Addressed::Church(id) => Some(id),
            Addressed::Shared => last_church_of(conn, text.from).await?,
            Addressed::Nobody => None,
        };
        let Some(church_id) = church else {
            diesel::sql_query(
                "INSERT INTO unrouted_replies (event_id, from_phone, to_phone, body) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind::<Text, _>(text.event_id)
            .bind::<Text, _>(text.from)
            .bind::<Nullable<Text>, _>(text.to)
            .bind::<Text, _>(text.body)
            .execute(conn)
            .await?;
            return Ok(Received::Unrouted { opted });
        };
        let conversation_id = upsert_conversation(conn, church_id, text).await?;
        let mut added = vec![add_line(conn, conversation_id, "inbound", text.body).await?];
        if text.keyword.is_none() {
            // A reply, for delivery analytics (opt-outs are counted where they are recorded).
            diesel::sql_query("SELECT tally($1, 1, 0)")
                .bind::<BigInt, _>(church_id)
                .execute(conn)
                .await?;
        }
        if let Some(keyword) = text.keyword {
            let said = match keyword {
                OptKeyword::OptOut => "Opted out: no more texts until they reply START",
                OptKeyword::OptIn => "Opted back in",
            };
            added.push(add_line(conn, conversation_id, "system", said).await?);
        }
        let conversation = find_in(conn, church_id, conversation_id)
            .await?
            .ok_or_else(|| DbError::Migrate("a conversation vanished in its transaction".into()))?;
        Ok(Received::Church(Arrived {
            church_id,
            conversation,
            lines: lines(conn, &added).await?,
            unread_total: unread_total_in(conn, church_id).await?,
            opted,
        }))
    })
    .await
}

async fn addressed(
    conn: &mut AsyncPgConnection,
    text: &InboundText<'_>,
) -> Result<Addressed, DbError> {
    let Some(to) = text.to else {
        return Ok(Addressed::Shared);
    };
    let own: Vec<Id> = diesel::sql_query("SELECT id FROM churches WHERE from_number = $1")
        .bind::<Text, _>(to)
        .load(conn)
        .await?;
    Ok(match own.into_iter().next() {
        Some(church) => Addressed::Church(church.id),
        None if to == text.platform_number => Addressed::Shared,
        None => Addressed::Nobody,
    })
}

/// Of the churches on the shared number: the last to message `phone`, else the last to add it
/// as a member.
async fn last_church_of(conn: &mut AsyncPgConnection, phone: &str) -> Result<Option<i64>, DbError> {
    let found: Vec<Id> = diesel::sql_query(
        "SELECT church_id AS id FROM ( \
             (SELECT m.church_id, 1 AS rank FROM message_recipients r \
                JOIN messages m ON m.id = r.message_id \
                JOIN churches c ON c.id = m.church_id AND c.from_number IS NULL \
              WHERE r.phone = $1 ORDER BY r.id DESC LIMIT 1) \
             UNION ALL \
             (SELECT mb.church_id, 2 AS rank FROM members mb \
                JOIN churches c ON c.id = mb.church_id AND c.from_number IS NULL \
              WHERE mb.phone = $1 AND mb.removed_at IS NULL ORDER BY mb.id DESC LIMIT 1) \
         ) candidates ORDER BY rank LIMIT 1",
    )
    .bind::<Text, _>(phone)
    .load(conn)
    .await?;
    Ok(found.into_iter().next().map(|c| c.id))
}

/// Opts the phone's members out (or back in) where the keyword reaches; how many changed.
async fn opt(
    conn: &mut AsyncPgConnection,
    addressed: &Addressed,
    phone: &str,
    keyword: OptKeyword,
) -> Result<usize, DbError> {
    let church = match addressed {
        Addressed::Church(id) => Some(*id),
        Addressed::Shared => None,
        // A number Belfry does not send from: nothing of ours to stop.
        Addressed::Nobody => return Ok(0),
    };
    let change = match keyword {
        OptKeyword::OptOut => "opted_out_at = now() WHERE opted_out_at IS NULL",
        OptKeyword::OptIn => "opted_out_at = NULL WHERE opted_out_at IS NOT NULL",
    };
    Ok(diesel::sql_query(format!(
        "UPDATE members SET {change} AND phone = $1 AND CASE WHEN $2::bigint IS NULL \
             THEN church_id IN (SELECT id FROM churches WHERE from_number IS NULL) \
             ELSE church_id = $2 END"
    ))
    .bind::<Text, _>(phone)
    .bind::<Nullable<BigInt>, _>(church)
    .execute(conn)
    .await?)
}

async fn upsert_conversation(
    conn: &mut AsyncPgConnection,
    church_id: i64,
    text: &InboundText<'_>,
) -> Result<i64, DbError> {
    let upserted: Upserted = diesel::sql_query(
        "INSERT INTO conversations (church_id, phone, unread, last_direction, last_body, last_at) \
         VALUES ($1, $2, 1, 'inbound', $3, now()) \
         ON CONFLICT (church_id, phone) DO UPDATE SET unread = conversations.unread + 1, \
             last_direction = 'inbound', last_body = EXCLUDED.last_body, last_at = now() \
         RETURNING id, (xmax = 0) AS created",
    )
    .bind::<BigInt, _>(church_id)
    .bind::<Text, _>(text.from)
    .bind::<Text, _>(text.body)
    .get_result(conn)
    .await?;
    if upserted.created {
        // A new conversation starts with what the church sent the phone before it replied.
        diesel::sql_query(
            "INSERT INTO conversation_entries (conversation_id, direction, body, recipient_id, message_id, at) \
             SELECT $1, 'outbound', body, recipient_id, message_id, created_at FROM ( \
                 SELECT COALESCE(r.body, m.body) AS body, r.id AS recipient_id, m.id AS message_id, m.created_at \
                 FROM message_recipients r JOIN messages m ON m.id = r.message_id \
                 WHERE r.phone = $2 AND m.church_id = $3 \
                 ORDER BY r.id DESC LIMIT $4 \
             ) earlier ORDER BY recipient_id",
        )
        .bind::<BigInt, _>(upserted.id)
        .bind::<Text, _>(text.from)
        .bind::<BigInt, _>(church_id)
        .bind::<BigInt, _>(EARLIER_MESSAGES)
        .execute(conn)
        .await?;
    }
    Ok(upserted.id)
}

/// How many of the church's earlier messages to a phone open its conversation.
const EARLIER_MESSAGES: i64 = 50;

async fn add_line(
    conn: &mut AsyncPgConnection,
    conversation_id: i64,
    direction: &str,
    body: &str,
) -> Result<i64, DbError> {
    let added: Id = diesel::sql_query(
        "INSERT INTO conversation_entries (conversation_id, direction, body) \
         VALUES ($1, $2, $3) RETURNING id",
    )
    .bind::<BigInt, _>(conversation_id)
    .bind::<Text, _>(direction)
    .bind::<Text, _>(body)
    .get_result(conn)
    .await?;
    Ok(added.id)
}

/// A text no church could be found for.
#[derive(Debug, Clone, diesel::QueryableByName, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnroutedReply {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub from: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub to: Option<String>,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// The newest `limit` texts no church could be found for.
pub async fn unrouted(pool: &DbPool, limit: i64) -> Result<Vec<UnroutedReply>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(
        "SELECT id, from_phone AS \"from\", to_phone AS \"to\", body, received_at \
         FROM unrouted_replies ORDER BY id DESC LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?)
}
