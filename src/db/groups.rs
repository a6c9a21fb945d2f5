//! Groups of a church's members: the groups themselves, who is in which, and the members a
//! send to some groups reaches. Removed members stay in their groups' rows but are not counted,
//! listed or sent to.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{member_group_members, member_groups, members};
use super::{DbError, DbPool, get};
use crate::domain::GroupName;

/// A group as the API shows it.
#[derive(Debug, Clone, QueryableByName, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Members in it (removed members are not counted).
    #[diesel(sql_type = BigInt)]
    pub member_count: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A group a member is in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct GroupTag {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("your church already has a group called that")]
    NameTaken,
    #[error("no such group in your church")]
    NoGroup,
    #[error("these members do not exist in your church: {0:?}")]
    UnknownMembers(Vec<i64>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for GroupError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Self::NameTaken,
            other => Self::Db(other.into()),
        }
    }
}

const GROUP_COLUMNS: &str = "g.id, g.name, g.created_at, (SELECT count(*) FROM member_group_members gm \
     JOIN members m ON m.id = gm.member_id AND m.removed_at IS NULL WHERE gm.group_id = g.id) \
     AS member_count";

/// The church's groups by name.
pub async fn list(pool: &DbPool, church: i64) -> Result<Vec<Group>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(format!(
        "SELECT {GROUP_COLUMNS} FROM member_groups g WHERE g.church_id = $1 \
         ORDER BY lower(g.name), g.id"
    ))
    .bind::<BigInt, _>(church)
    .load(&mut conn)
    .await?)
}

pub async fn find(pool: &DbPool, church: i64, id: i64) -> Result<Option<Group>, DbError> {
    let mut conn = get(pool).await?;
    find_in(&mut conn, church, id).await.map_err(Into::into)
}

async fn find_in(
    conn: &mut AsyncPgConnection,
    church: i64,
    id: i64,
) -> Result<Option<Group>, diesel::result::Error> {
    diesel::sql_query(format!(
        "SELECT {GROUP_COLUMNS} FROM member_groups g WHERE g.church_id = $1 AND g.id = $2"
    ))
    .bind::<BigInt, _>(church)
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .await
    .optional()
}

pub async fn create(pool: &DbPool, church: i64, name: &GroupName) -> Result<Group, GroupError> {
    let mut conn = get(pool).await?;
    let id: i64 = diesel::insert_into(member_groups::table)
        .values((
            member_groups::church_id.eq(church),
            member_groups::name.eq(name.as_str()),
        ))
        .returning(member_groups::id)
        .get_result(&mut conn)
        .await?;
    find_in(&mut conn, church, id)
        .await?
        .ok_or(GroupError::NoGroup)
}

pub async fn rename(
    pool: &DbPool,
    church: i64,
    id: i64,
    name: &GroupName,
) -> Result<Group, GroupError> {
    let mut conn = get(pool).await?;
    let changed = diesel::update(
        member_groups::table
            .filter(member_groups::church_id.eq(church))
            .filter(member_groups::id.eq(id)),
    )
    .set(member_groups::name.eq(name.as_str()))
    .execute(&mut conn)
    .await?;
    if changed == 0 {
        return Err(GroupError::NoGroup);
    }
    find_in(&mut conn, church, id)
        .await?
        .ok_or(GroupError::NoGroup)
}

/// Deletes the group (its members stay members); `false` if the church has no such group.
pub async fn delete(pool: &DbPool, church: i64, id: i64) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let deleted = diesel::delete(
        member_groups::table
            .filter(member_groups::church_id.eq(church))
            .filter(member_groups::id.eq(id)),
    )
    .execute(&mut conn)
    .await?;
    Ok(deleted == 1)
}

/// Puts members of the church in the group (those already in it stay); the group after.
pub async fn add_members(
    pool: &DbPool,
    church: i64,
    id: i64,
    member_ids: &[i64],
) -> Result<Group, GroupError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, GroupError, _>(async |conn| {
        if find_in(conn, church, id).await?.is_none() {
            return Err(GroupError::NoGroup);
        }
        let found: Vec<i64> = members::table
            .filter(members::church_id.eq(church))
            .filter(members::removed_at.is_null())
            .filter(members::id.eq_any(member_ids))
            .select(members::id)
            .load(conn)
            .await?;
        let mut missing: Vec<i64> = member_ids
            .iter()
            .copied()
            .filter(|m| !found.contains(m))
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            return Err(GroupError::UnknownMembers(missing));
        }
        let rows: Vec<_> = found
            .iter()
            .map(|m| {
                (
                    member_group_members::group_id.eq(id),
                    member_group_members::member_id.eq(*m),
                )
            })
            .collect();
        diesel::insert_into(member_group_members::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        find_in(conn, church, id).await?.ok_or(GroupError::NoGroup)
    })
    .await
}

/// Takes a member out of the group (nothing to do if they were not in it); `false` if the
/// church has no such group.
pub async fn remove_member(
    pool: &DbPool,
    church: i64,
    id: i64,
    member_id: i64,
) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    if find_in(&mut conn, church, id).await?.is_none() {
        return Ok(false);
    }
    diesel::delete(
        member_group_members::table
            .filter(member_group_members::group_id.eq(id))
            .filter(member_group_members::member_id.eq(member_id)),
    )
    .execute(&mut conn)
    .await?;
    Ok(true)
}

/// The members in the group, by id (removed ones left out).
pub async fn member_ids(pool: &DbPool, church: i64, id: i64) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    Ok(member_group_members::table
        .inner_join(member_groups::table)
        .inner_join(members::table)
        .filter(member_groups::church_id.eq(church))
        .filter(member_groups::id.eq(id))
        .filter(members::removed_at.is_null())
        .select(members::id)
        .order(members::id.asc())
        .load(&mut conn)
        .await?)
}

/// Every member's groups, by member id.
pub async fn tags_by_member(
    pool: &DbPool,
    church: i64,
) -> Result<HashMap<i64, Vec<GroupTag>>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<(i64, i64, String)> = member_group_members::table
        .inner_join(member_groups::table)
        .filter(member_groups::church_id.eq(church))
        .select((
            member_group_members::member_id,
            member_groups::id,
            member_groups::name,
        ))
        .order((member_groups::name.asc(), member_groups::id.asc()))
        .load(&mut conn)
        .await?;
    let mut tags: HashMap<i64, Vec<GroupTag>> = HashMap::new();
    for (member, id, name) in rows {
        tags.entry(member).or_default().push(GroupTag { id, name });
    }
    Ok(tags)
}

/// The groups one member is in, by name.
pub async fn tags_of_member(
    pool: &DbPool,
    church: i64,
    member_id: i64,
) -> Result<Vec<GroupTag>, DbError> {
    let mut conn = get(pool).await?;
    let rows: Vec<(i64, String)> = member_group_members::table
        .inner_join(member_groups::table)
        .filter(member_groups::church_id.eq(church))
        .filter(member_group_members::member_id.eq(member_id))
        .select((member_groups::id, member_groups::name))
        .order((member_groups::name.asc(), member_groups::id.asc()))
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| GroupTag { id, name })
        .collect())
}

/// The members of the church in any of the groups, for a send; the ids that are not groups of
/// the church come back as `Err`.
pub(super) async fn members_in(
    conn: &mut AsyncPgConnection,
    church: i64,
    group_ids: &[i64],
) -> Result<Result<Vec<i64>, Vec<i64>>, diesel::result::Error> {
    let found: Vec<i64> = member_groups::table
        .filter(member_groups::church_id.eq(church))
        .filter(member_groups::id.eq_any(group_ids))
        .select(member_groups::id)
        .load(conn)
        .await?;
    let mut missing: Vec<i64> = group_ids
        .iter()
        .copied()
        .filter(|g| !found.contains(g))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        missing.dedup();
        return Ok(Err(missing));
    }
    let ids: Vec<i64> = member_group_members::table
        .filter(member_group_members::group_id.eq_any(&found))
        .select(member_group_members::member_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(Ok(ids))
}

/// Puts each member (by id) in the groups named for them, making the groups the church does
/// not have yet (names matched whatever their case), in one statement each.
pub async fn join_by_name(
    pool: &DbPool,
    church: i64,
    memberships: &[(i64, Vec<GroupName>)],
) -> Result<(), DbError> {
    let mut names: Vec<String> = memberships
        .iter()
        .flat_map(|(_, groups)| groups.iter().map(|g| g.as_str().to_owned()))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort_by_key(|n| n.to_lowercase());
    names.dedup_by_key(|n| n.to_lowercase());
    let mut conn = get(pool).await?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query(
            "INSERT INTO member_groups (church_id, name) SELECT $1, n FROM unnest($2) AS n \
             ON CONFLICT DO NOTHING",
        )
        .bind::<BigInt, _>(church)
        .bind::<Array<Text>, _>(&names)
        .execute(conn)
        .await?;
        let (member_ids, group_names): (Vec<i64>, Vec<String>) = memberships
            .iter()
            .flat_map(|(member, groups)| groups.iter().map(|g| (*member, g.as_str().to_owned())))
            .unzip();
        diesel::sql_query(
            "INSERT INTO member_group_members (group_id, member_id) \
             SELECT g.id, r.member_id FROM unnest($2, $3) AS r (member_id, name) \
             JOIN member_groups g ON g.church_id = $1 AND lower(g.name) = lower(r.name) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<BigInt, _>(church)
        .bind::<Array<BigInt>, _>(&member_ids)
        .bind::<Array<Text>, _>(&group_names)
        .execute(conn)
        .await?;
        Ok(())
    })
    .await?;
    Ok(())
}
