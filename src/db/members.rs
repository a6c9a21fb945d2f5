//! Members: the people of a church who receive SMS.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::schema::members;
use super::{DbError, DbPool, get};
use crate::domain::PhoneNumber;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = members)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: i64,
    #[serde(skip)]
    pub church_id: i64,
    pub name: String,
    pub phone: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
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
        .returning(Member::as_returning())
        .get_result(&mut conn)
        .await?)
}

pub async fn list(pool: &DbPool, church_id: i64) -> Result<Vec<Member>, DbError> {
    let mut conn = get(pool).await?;
    Ok(members::table
        .filter(members::church_id.eq(church_id))
        .order(members::id.asc())
        .select(Member::as_select())
        .load(&mut conn)
        .await?)
}
