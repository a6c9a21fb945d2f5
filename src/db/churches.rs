//! Churches: the tenants. Every other row belongs to one.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::churches;
use super::{DbError, DbPool, get};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = churches)]
pub struct Church {
    pub id: i64,
    pub name: String,
}

pub async fn create(pool: &DbPool, name: &str) -> Result<Church, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::insert_into(churches::table)
        .values(churches::name.eq(name))
        .returning(Church::as_returning())
        .get_result(&mut conn)
        .await?)
}

pub async fn find_by_name(pool: &DbPool, name: &str) -> Result<Option<Church>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .filter(churches::name.eq(name))
        .select(Church::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

pub async fn exists(pool: &DbPool, id: i64) -> Result<bool, DbError> {
    let mut conn = get(pool).await?;
    let found: Option<i64> = churches::table
        .find(id)
        .select(churches::id)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
