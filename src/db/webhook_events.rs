//! Carrier webhook event ids already applied, so a redelivered event changes nothing.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::webhook_events;

/// Records the event id; `false` if it was recorded before.
pub async fn record_new(
    conn: &mut AsyncPgConnection,
    event_id: &str,
    event_type: &str,
) -> Result<bool, diesel::result::Error> {
    let inserted = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::event_id.eq(event_id),
            webhook_events::event_type.eq(event_type),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Applies an inbound opt keyword once per event: the members with `phone` are opted out (or
/// back in). `None` if the event was applied before; else how many members changed.
pub async fn apply_opt_keyword(
    pool: &super::DbPool,
    event_id: &str,
    event_type: &str,
    phone: &str,
    opt_out: bool,
) -> Result<Option<usize>, super::DbError> {
    use diesel_async::AsyncConnection;
    let mut conn = super::get(pool).await?;
    Ok(conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !record_new(conn, event_id, event_type).await? {
                return Ok(None);
            }
            super::members::set_opted_out_by_phone(conn, phone, opt_out)
                .await
                .map(Some)
        })
        .await?)
}
