//! A message's running totals: mixed outcomes, and the start-up repair of totals.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::fake_telnyx::{FakeTelnyx, Reply};
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn some_delivered_and_some_failed_is_completed_and_totals_can_be_recomputed() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    app.telnyx.script([
        Reply::Accept,
        Reply::Fail {
            status: 400,
            code: "40310",
            title: "Invalid 'to' address",
        },
    ]);
    let id = app.send(&token, &app.grace.member_ids[..2]).await;
    let message = app
        .wait_for_message(&token, id, |m| {
            m["failedCount"] == 1
                && m["recipients"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["providerMessageId"].is_string())
        })
        .await;
    let accepted = message["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["providerMessageId"].is_string())
        .unwrap();
    let done = FakeTelnyx::event(
        "fin",
        "message.finalized",
        accepted["providerMessageId"].as_str().unwrap(),
        accepted["phone"].as_str().unwrap(),
        "delivered",
        json!([]),
    );
    assert_eq!(app.telnyx.post_webhook(&app.url, &done).await.status(), 200);
    let message = app
        .wait_for_message(&token, id, |m| m["deliveredCount"] == 1)
        .await;
    assert_eq!(message["status"], "completed");

    // Totals are derived from the recipients: lose them, and the repair brings them back.
    use belfry::db::schema::messages::dsl as m;
    let mut conn = belfry::db::get(&app.state.pool).await.unwrap();
    diesel::update(m::messages.find(id))
        .set((
            m::delivered_count.eq(0),
            m::failed_count.eq(0),
            m::status.eq("sending"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        belfry::db::totals::repair(&app.state.pool).await.unwrap(),
        1
    );
    let message = app.get_json(&format!("/api/messages/{id}"), &token).await;
    assert_eq!(
        (
            message["deliveredCount"].as_i64(),
            message["failedCount"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(message["status"], "completed");
    assert_eq!(
        belfry::db::totals::repair(&app.state.pool).await.unwrap(),
        0,
        "nothing left to repair"
    );
}
