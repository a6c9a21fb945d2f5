//! Cache policy and conditional GETs over real HTTP: `ETag` on JSON answers, `304` with no
//! body for a matching `If-None-Match`, a new tag once the content changed, and
//! `Cache-Control` per route.

use serde_json::json;

use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_revalidating_an_unchanged_list_gets_304_and_no_body() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let url = format!("{}/api/members", app.url);
    let first = app.get("/api/members", &staff).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong tag: {etag}"
    );

    let again = app
        .http
        .get(&url)
        .bearer_auth(&staff)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.headers().contains_key("ratelimit"), "still counted");
    assert!(again.bytes().await.unwrap().is_empty());

    // The list changes: the old tag no longer matches.
    let added = app
        .post_json(
            "/api/members",
            Some(&staff),
            &json!({"name": "New Member", "phone": "+12025550199"}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let changed = app
        .http
        .get(&url)
        .bearer_auth(&staff)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());

    // Logins and admin views are never stored.
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": app.grace.staff_email, "password": super::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    let admin = app.login(&app.grace.admin_email).await;
    let actors = app.get("/api/admin/actors", &admin).await;
    assert_eq!(actors.headers()["cache-control"], "no-store");
}
