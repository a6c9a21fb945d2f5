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
