//! Staff users: who may log in, for which church, with which role, and what still lets their
//! tokens in (not disabled, the token version, tokens signed out).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{revoked_tokens, users};
use super::{DbError, DbPool, get};
use crate::domain::{EmailAddress, Role};

type Timestamp = chrono::DateTime<chrono::Utc>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub church_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    pub token_version: i32,
    /// Their own number for notifications by SMS (E.164).
    pub phone: Option<String>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role, DbError> {
        Role::parse(&self.role)
            .ok_or_else(|| DbError::Corrupt(format!("user {} has role {:?}", self.id, self.role)))
    }
}

pub struct NewUser<'a> {
    pub church_id: Option<i64>,
    pub email: &'a EmailAddress,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn create(pool: &DbPool, user: NewUser<'_>) -> Result<UserRow, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::insert_into(users::table)
        .values((
            users::church_id.eq(user.church_id),
            users::email.eq(user.email.as_str()),
            users::name.eq(user.name),
            users::role.eq(user.role.as_str()),
            users::password_hash.eq(user.password_hash),
        ))
        .returning(UserRow::as_returning())
        .get_result(&mut conn)
        .await?)
}

pub async fn find_by_email(
    pool: &DbPool,
    email: &EmailAddress,
) -> Result<Option<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(users::table
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

pub async fn find(pool: &DbPool, id: i64) -> Result<Option<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// A church's users, oldest first.
pub async fn list_in_church(pool: &DbPool, church_id: i64) -> Result<Vec<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(users::table
        .filter(users::church_id.eq(church_id))
        .order(users::id.asc())
        .select(UserRow::as_select())
        .load(&mut conn)
        .await?)
}

/// The ids of a church's users (which of the tree's rooms and limiters are the church's).
pub async fn ids_in_church(pool: &DbPool, church_id: i64) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    Ok(users::table
        .filter(users::church_id.eq(church_id))
        .select(users::id)
        .load(&mut conn)
        .await?)
}

/// What an admin may change about one of their church's users; `None` leaves it be.
#[derive(Debug, Default)]
pub struct UserChanges<'a> {
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Changes a user of `church_id` who is not an operator; `None` when there is no such user.
/// Anything that changes what their tokens allow moves their standing on.
pub async fn update_in_church(
    pool: &DbPool,
    church_id: i64,
    id: i64,
    changes: &UserChanges<'_>,
) -> Result<Option<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    let target = users::table
        .filter(users::id.eq(id))
        .filter(users::church_id.eq(church_id))
        .filter(users::role.ne(Role::Operator.as_str()));
    let now = chrono::Utc::now();
    let standing_changes = changes.role.is_some() || changes.disabled.is_some();
    if changes.name.is_none() && !standing_changes {
        // Nothing to change: the user as they are (an UPDATE with no SET is no statement).
        return Ok(target
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()?);
    }
    let disabled_at = changes.disabled.map(|d| d.then_some(now));
    Ok(diesel::update(target)
        .set((
            changes.name.map(|name| users::name.eq(name)),
            changes.role.map(|role| users::role.eq(role.as_str())),
            disabled_at.map(|at| users::disabled_at.eq(at)),
            standing_changes.then_some(users::standing_changed_at.eq(now)),
        ))
        .returning(UserRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?)
}

/// A user's new name, as they set it themselves; `None` when there is no such user.
pub async fn rename(pool: &DbPool, id: i64, name: &str) -> Result<Option<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::name.eq(name))
        .returning(UserRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?)
}

/// The user's own SMS number for notifications (`None` clears it).
pub async fn set_phone(
    pool: &DbPool,
    id: i64,
    phone: Option<&str>,
) -> Result<Option<UserRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::phone.eq(phone))
        .returning(UserRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?)
}

/// A new password: tokens minted before it stop working. Returns the new token version.
pub async fn set_password(pool: &DbPool, id: i64, password_hash: &str) -> Result<i32, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::token_version.eq(users::token_version + 1),
            users::standing_changed_at.eq(chrono::Utc::now()),
        ))
        .returning(users::token_version)
        .get_result(&mut conn)
        .await?)
}

/// Signs one token out until it would have expired.
pub async fn revoke_token(
    pool: &DbPool,
    user_id: i64,
    jti: &str,
    expires_at: Timestamp,
) -> Result<(), DbError> {
    let mut conn = get(pool).await?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(jti),
                revoked_tokens::user_id.eq(user_id),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        diesel::update(users::table.find(user_id))
            .set(users::standing_changed_at.eq(chrono::Utc::now()))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway.
pub async fn purge_expired_revocations(pool: &DbPool) -> Result<usize, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::delete(
        revoked_tokens::table.filter(revoked_tokens::expires_at.lt(chrono::Utc::now())),
    )
    .execute(&mut conn)
    .await?)
}

/// What decides whether a user's tokens still let them in.
#[derive(Debug, Clone, QueryableByName)]
pub struct StandingRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub church_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Bool)]
    pub disabled: bool,
    #[diesel(sql_type = Int4)]
    pub token_version: i32,
    /// The ids of the user's signed-out tokens that have not expired.
    #[diesel(sql_type = Array<Text>)]
    pub revoked: Vec<String>,
}

pub async fn standing(pool: &DbPool, id: i64) -> Result<Option<StandingRow>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(
        "SELECT u.church_id, u.role, u.disabled_at IS NOT NULL AS disabled, u.token_version,
                ARRAY(SELECT t.jti FROM revoked_tokens t
                      WHERE t.user_id = u.id AND t.expires_at > now()) AS revoked
         FROM users u WHERE u.id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result(&mut conn)
    .await
    .optional()?)
}

/// Users whose standing changed after `since` (by the database's clock), and the latest change.
pub async fn standing_changed_since(
    pool: &DbPool,
    since: Timestamp,
) -> Result<Vec<(i64, Timestamp)>, DbError> {
    let mut conn = get(pool).await?;
    Ok(users::table
        .filter(users::standing_changed_at.gt(since))
        .select((users::id, users::standing_changed_at))
        .load(&mut conn)
        .await?)
}

/// The database's clock, where watching for changes starts.
pub async fn database_now(pool: &DbPool) -> Result<Timestamp, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::select(diesel::dsl::now.into_sql::<Timestamptz>())
        .get_result(&mut conn)
        .await?)
}
