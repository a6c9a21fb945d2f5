//! Members: the people of a church who receive SMS.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::groups::{self, GroupTag};
use super::schema::members;
use super::{DbError, DbPool, get};
use crate::domain::PhoneNumber;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: i64,
    #[serde(skip)]
    pub church_id: i64,
    pub name: String,
    pub phone: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the member texted STOP; `None` while they receive messages.
    pub opted_out_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The groups they are in, by name.
    pub groups: Vec<GroupTag>,
}

/// A member's own row, before their groups are added.
#[derive(Queryable, Selectable)]
#[diesel(table_name = members)]
struct MemberRow {
    id: i64,
    church_id: i64,
    name: String,
    phone: String,
    created_at: chrono::DateTime<chrono::Utc>,
    opted_out_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl MemberRow {
    fn with_groups(self, groups: Vec<GroupTag>) -> Member {
        Member {
            id: self.id,
            church_id: self.church_id,
            name: self.name,
            phone: self.phone,
            created_at: self.created_at,
            opted_out_at: self.opted_out_at,
            groups,
        }
    }
}

pub async fn create(
    pool: &DbPool,
    church_id: i64,
    name: &str,
    phone: &PhoneNumber,
) -> Result<Member, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::insert_into(members::table)
        .values((
            members::church_id.eq(church_id),
            members::name.eq(name),
            members::phone.eq(phone.as_str()),
        ))
        .returning(MemberRow::as_returning())
        .get_result::<MemberRow>(&mut conn)
        .await?
        .with_groups(Vec::new()))
}

/// The church's members with their groups, removed ones left out.
pub async fn list(pool: &DbPool, church_id: i64) -> Result<Vec<Member>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<MemberRow> = members::table
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null())
        .order(members::id.asc())
        .select(MemberRow::as_select())
        .load(&mut conn)
        .await?;
    drop(conn);
    let mut tags = groups::tags_by_member(pool, church_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let groups = tags.remove(&row.id).unwrap_or_default();
            row.with_groups(groups)
        })
        .collect())
}

/// Renames a member or changes their phone; `None` if the church has no such member (or it
/// was removed). A phone another member has is a unique violation.
pub async fn update(
    pool: &DbPool,
    church_id: i64,
    id: i64,
    name: Option<&str>,
    phone: Option<&PhoneNumber>,
) -> Result<Option<Member>, DbError> {
    let mut conn = get(pool).await?;
    let target = members::table
        .filter(members::id.eq(id))
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null());
    let row: Option<MemberRow> = if name.is_none() && phone.is_none() {
        // Nothing to change: the member as they are (an UPDATE with no SET is no statement).
        target
            .select(MemberRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
    } else {
        diesel::update(target)
            .set((
                name.map(|name| members::name.eq(name)),
                phone.map(|phone| members::phone.eq(phone.as_str())),
            ))
            .returning(MemberRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()?
    };
    drop(conn);
    match row {
        Some(row) => {
            let groups = groups::tags_of_member(pool, church_id, row.id).await?;
            Ok(Some(row.with_groups(groups)))
        }
        None => Ok(None),
    }
}

/// Removes a member: they receive nothing more and leave the list, and what was sent to them
/// stays. False if the church has no such member (or it was removed already).
pub async fn remove(pool: &DbPool, church_id: i64, id: i64) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let target = members::table
        .filter(members::id.eq(id))
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null());
    let removed = diesel::update(target)
        .set(members::removed_at.eq(chrono::Utc::now()))
        .execute(&mut conn)
        .await?;
    Ok(removed == 1)
}

/// Opts out (`true`) or back in (`false`) every member with this phone, in every church: they
/// all receive from the same sender number. Returns how many members changed.
pub async fn set_opted_out_by_phone(
    conn: &mut diesel_async::AsyncPgConnection,
    phone: &str,
    opted_out: bool,
) -> Result<usize, diesel::result::Error> {
    let value = opted_out.then(chrono::Utc::now);
    let query = members::table.filter(members::phone.eq(phone));
    if opted_out {
        diesel::update(query.filter(members::opted_out_at.is_null()))
            .set(members::opted_out_at.eq(value))
            .execute(conn)
            .await
    } else {
        diesel::update(query.filter(members::opted_out_at.is_not_null()))
            .set(members::opted_out_at.eq(value))
            .execute(conn)
            .await
    }
}

/// Whether the member has opted out (replied STOP); `false` for no such member.
pub async fn is_opted_out(pool: &DbPool, id: i64) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let opted: Option<Option<chrono::DateTime<chrono::Utc>>> = members::table
        .find(id)
        .select(members::opted_out_at)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(matches!(opted, Some(Some(_))))
}

/// Opts out the member a recipient row belongs to (the carrier reported 40300).
pub async fn opt_out_recipient(pool: &DbPool, recipient_id: i64) -> Result<(), DbError> {
    use super::schema::message_recipients::dsl as r;
    let mut conn = get(pool).await?;
    let phone: String = r::message_recipients
        .find(recipient_id)
        .select(r::phone)
        .first(&mut conn)
        .await?;
    set_opted_out_by_phone(&mut conn, &phone, true).await?;
    Ok(())
}

/// Adds the rows that are not members yet, in one transaction; answers the phones that were
/// added with their new ids (a phone a member of the church already has is left out, not an
/// error).
pub async fn create_many(
    pool: &DbPool,
    church_id: i64,
    rows: &[(&str, &str)],
) -> Result<Vec<(String, i64)>, DbError> {
    use diesel_async::AsyncConnection;
    /// Three parameters a row: far below PostgreSQL's 65,535 per statement.
    const CHUNK: usize = 5000;
    let mut conn = get(pool).await?;
    let added = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let mut added = Vec::with_capacity(rows.len());
            for chunk in rows.chunks(CHUNK) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(name, phone)| {
                        (
                            members::church_id.eq(church_id),
                            members::name.eq(*name),
                            members::phone.eq(*phone),
                        )
                    })
                    .collect();
                let phones: Vec<(String, i64)> = diesel::insert_into(members::table)
                    .values(values)
                    .on_conflict_do_nothing()
                    .returning((members::phone, members::id))
                    .get_results(conn)
                    .await?;
                added.extend(phones);
            }
            Ok(added)
        })
        .await?;
    Ok(added)
}

/// Whom a preview of merge fields is for: the member (or else the church's first), their name
/// and their church's name; `None` if there is no such member.
pub async fn merge_subject(
    pool: &DbPool,
    church_id: i64,
    member_id: Option<i64>,
) -> Result<Option<(i64, String, String)>, DbError> {
    use super::schema::churches;
    let mut conn = get(pool).await?;
    let mut query = members::table
        .inner_join(churches::table)
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null())
        .select((members::id, members::name, churches::name))
        .order(members::id.asc())
        .into_boxed();
    if let Some(id) = member_id {
        query = query.filter(members::id.eq(id));
    }
    Ok(query.first(&mut conn).await.optional()?)
}

/// The church's members with these phones (removed ones left out), by phone.
pub async fn ids_by_phone(
    pool: &DbPool,
    church_id: i64,
    phones: &[&str],
) -> Result<std::collections::HashMap<String, i64>, DbError> {
    let mut conn = get(pool).await?;
    let found: Vec<(String, i64)> = members::table
        .filter(members::church_id.eq(church_id))
        .filter(members::removed_at.is_null())
        .filter(members::phone.eq_any(phones))
        .select((members::phone, members::id))
        .load(&mut conn)
        .await?;
    Ok(found.into_iter().collect())
}
