//! Sparse fields over real HTTP: `?fields=` keeps only the named fields of a detail answer or
//! of each item of a list, and an unknown field is a `400` naming it.

use serde_json::Value;

use super::helpers::spawn_app;

fn keys(item: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_and_details_keep_only_the_fields_asked_for() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let first = app.send(&staff, &app.grace.member_ids).await;
    app.send(&staff, &app.grace.member_ids[..1]).await;

    let page = app
        .get_json(
            "/api/messages/history?limit=1&fields=id,status,deliveredCount",
            &staff,
        )
        .await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(keys(&messages[0]), ["deliveredCount", "id", "status"]);
    assert!(
        page["nextCursor"].is_string(),
        "the envelope is kept: {page}"
    );

    let full = app
        .get_json(&format!("/api/messages/{first}"), &staff)
        .await;
    assert!(full["body"].is_string() && full["recipients"].is_array());
    let detail = app
        .get_json(
            &format!("/api/messages/{first}?fields=id,recipientCount,recipients"),
            &staff,
        )
        .await;
    assert_eq!(keys(&detail), ["id", "recipientCount", "recipients"]);
    // Whole recipients (their statuses move on while the test reads them).
    let ids = |message: &Value| -> Vec<Value> {
        message["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect()
    };
    assert_eq!(ids(&detail), ids(&full));
    assert_eq!(keys(&detail["recipients"][0]), keys(&full["recipients"][0]));

    let members = app.get_json("/api/members?fields=phone", &staff).await;
    let members = members["members"].as_array().unwrap();
    assert_eq!(members.len(), app.grace.member_ids.len());
    assert!(members.iter().all(|m| keys(m) == ["phone"]), "{members:?}");

    let rooms = app.get_json("/api/chat/rooms?fields=room", &staff).await;
    assert_eq!(keys(&rooms["rooms"][0]), ["room"]);
    let room = format!("church:{}", app.grace.id);
    let chat = app
        .get_json(&format!("/api/chat/{room}/messages?fields=id,body"), &staff)
        .await;
    assert!(chat["messages"].is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_field_is_refused_by_name() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let id = app.send(&staff, &app.grace.member_ids[..1]).await;
    for (path, token) in [
        ("/api/messages/history?fields=id,colour".to_owned(), &staff),
        (format!("/api/messages/{id}?fields=colour"), &staff),
        ("/api/members?fields=colour".to_owned(), &staff),
        ("/api/chat/rooms?fields=colour".to_owned(), &staff),
        ("/api/admin/dlq?fields=colour".to_owned(), &admin),
    ] {
        let response = app.get(&path, token).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unknown_field", "{path}");
        assert_eq!(body["error"]["details"]["field"], "colour", "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("colour"),
            "{path}"
        );
    }
    // A church's own field that is not in the API (skipped when written) is unknown too.
    let response = app
        .get("/api/messages/history?fields=churchId", &staff)
        .await;
    assert_eq!(response.status(), 400);
    let response = app.get("/api/members?fields=", &staff).await;
    assert_eq!(response.status(), 400);
}
