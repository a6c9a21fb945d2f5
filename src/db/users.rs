//! Staff users: who may log in, for which church, with which role.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::users;
use super::{DbError, DbPool, get};
use crate::domain::{EmailAddress, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub church_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub church_id: i64,
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
