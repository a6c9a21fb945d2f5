//! `GET /api/messages/history`: newest first by cursor, no row twice across pages, filters by
//! status and date, the caller's church only, and clear errors.

use serde_json::Value;

use super::helpers::spawn_app;

fn ids(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn history_pages_newest_first_by_cursor_and_filters() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let member = app.grace.member_ids[0];
    let mut sent = Vec::new();
    for _ in 0..5 {
        sent.push(app.send(&staff, &[member]).await);
    }
    let other = app.login(&app.other.staff_email).await;
    app.send(&other, &app.other.member_ids).await;

    let mut seen = Vec::new();
    let mut path = "/api/messages/history?limit=2".to_owned();
    loop {
        let page = app.get_json(&path, &staff).await;
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/messages/history?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, each once, this church only");

    // One message made `failed` (as if every recipient had failed).
    for id in &sent {
        app.accepted(&staff, *id, 1).await;
    }
    {
        use belfry::db::schema::messages;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.state.pool.get().await.unwrap();
        diesel::update(messages::table.find(sent[2]))
            .set(messages::status.eq("failed"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let failed = app
        .get_json("/api/messages/history?status=failed", &staff)
        .await;
    assert_eq!(ids(&failed), [sent[2]]);
    assert_eq!(failed["messages"][0]["status"], "failed");
    assert!(failed["messages"][0]["recipientCount"].is_i64());

    let future = app
        .get_json("/api/messages/history?since=2999-01-01T00:00:00Z", &staff)
        .await;
    assert_eq!(ids(&future), Vec::<i64>::new());
    let past = app
        .get_json("/api/messages/history?until=2999-01-01T00:00:00Z", &staff)
        .await;
    assert_eq!(ids(&past), sent);

    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("status=lost", "invalid_status"),
        ("since=yesterday", "invalid_date"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("colour=blue", "invalid_query"),
    ] {
        let response = app
            .get(&format!("/api/messages/history?{query}"), &staff)
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query}");
    }
}
