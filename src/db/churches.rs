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

/// A church's own hold on its sending.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = churches)]
pub struct Sending {
    #[diesel(column_name = sending_paused_at)]
    pub paused_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(column_name = sending_paused_reason)]
    pub reason: Option<String>,
    #[diesel(column_name = sending_paused_by)]
    pub by: Option<i64>,
}

/// `None` if there is no such church.
pub async fn sending(pool: &DbPool, id: i64) -> Result<Option<Sending>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .find(id)
        .select(Sending::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// Pauses (with a reason) or resumes a church's sending; `None` if there is no such church.
/// Pausing a paused church keeps when and by whom it was first paused, with the new reason.
pub async fn set_sending(
    pool: &DbPool,
    id: i64,
    paused: bool,
    reason: Option<&str>,
    by: i64,
) -> Result<Option<Sending>, DbError> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    let mut conn = get(pool).await?;
    let changed = if paused {
        // One statement, so two admins pausing at once keep the first one's time and name.
        diesel::sql_query(
            "UPDATE churches SET \
               sending_paused_by = CASE WHEN sending_paused_at IS NULL THEN $2 ELSE sending_paused_by END, \
               sending_paused_at = COALESCE(sending_paused_at, now()), \
               sending_paused_reason = $3 \
             WHERE id = $1 \
             RETURNING sending_paused_at, sending_paused_reason, sending_paused_by",
        )
        .bind::<BigInt, _>(id)
        .bind::<Nullable<BigInt>, _>(Some(by))
        .bind::<Nullable<Text>, _>(reason)
        .get_result::<Sending>(&mut conn)
        .await
    } else {
        diesel::update(churches::table.find(id))
            .set((
                churches::sending_paused_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                churches::sending_paused_by.eq(None::<i64>),
                churches::sending_paused_reason.eq(None::<String>),
            ))
            .returning(Sending::as_returning())
            .get_result(&mut conn)
            .await
    };
    Ok(changed.optional()?)
}

/// The churches whose sending is paused (loaded into the tree at start-up).
pub async fn paused(pool: &DbPool) -> Result<Vec<i64>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .filter(churches::sending_paused_at.is_not_null())
        .select(churches::id)
        .load(&mut conn)
        .await?)
}

/// Recipients of the church still waiting to go out (ready or claimed, not yet sent).
pub async fn waiting_to_send(pool: &DbPool, id: i64) -> Result<i64, DbError> {
    use super::schema::{message_recipients, messages};
    let mut conn = get(pool).await?;
    Ok(message_recipients::table
        .inner_join(messages::table)
        .filter(messages::church_id.eq(id))
        .filter(message_recipients::outbox_state.eq_any(["ready", "claimed"]))
        .count()
        .get_result(&mut conn)
        .await?)
}

/// A church as an operator picks it from the list.
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurchSummary {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Members not removed.
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub members: i64,
    /// Staff and admin accounts, disabled ones included.
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub users: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub sending_paused: bool,
}

/// Every church by name, with how many members and accounts it has.
pub async fn list(pool: &DbPool) -> Result<Vec<ChurchSummary>, DbError> {
    let mut conn = get(pool).await?;
    Ok(diesel::sql_query(
        "SELECT c.id, c.name, \
            (SELECT count(*) FROM members m WHERE m.church_id = c.id AND m.removed_at IS NULL) AS members, \
            (SELECT count(*) FROM users u WHERE u.church_id = c.id) AS users, \
            c.sending_paused_at IS NOT NULL AS sending_paused \
         FROM churches c ORDER BY c.name, c.id",
    )
    .load(&mut conn)
    .await?)
}

/// What a church's admins set about their church.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = churches)]
pub struct Settings {
    pub id: i64,
    pub name: String,
    pub from_number: Option<String>,
}

pub async fn settings(pool: &DbPool, id: i64) -> Result<Option<Settings>, DbError> {
    let mut conn = get(pool).await?;
    Ok(churches::table
        .find(id)
        .select(Settings::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

#[derive(Debug, thiserror::Error)]
pub enum NumberError {
    #[error("another church sends from this number")]
    Taken,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Gives the church its own sender number (`None`: back to the platform's). `false` if there is
/// no such church.
pub async fn set_from_number(
    pool: &DbPool,
    id: i64,
    number: Option<&crate::domain::PhoneNumber>,
) -> Result<bool, NumberError> {
    let mut conn = get(pool).await?;
    let changed = diesel::update(churches::table.find(id))
        .set(churches::from_number.eq(number.map(|n| n.as_str())))
        .execute(&mut conn)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => NumberError::Taken,
            other => NumberError::Db(other.into()),
        })?;
    Ok(changed == 1)
}
