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
    assert_eq!(
        first.headers()["cache-control"],
        "private, max-age=5, must-revalidate",
        "a list may be kept a few seconds"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn large_answers_are_compressed_as_the_client_accepts() {
    use std::io::Read;

    let mut app = spawn_app().await;
    app.add_members(30).await;
    let staff = app.login(&app.grace.staff_email).await;
    let url = format!("{}/api/members", app.url);
    let get = |encoding: &'static str| {
        let (http, url, staff) = (app.http.clone(), url.clone(), staff.clone());
        async move {
            http.get(url)
                .bearer_auth(staff)
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap()
        }
    };
    let plain = get("identity").await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_tag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let plain = plain.bytes().await.unwrap();
    assert!(
        plain.len() >= 1024,
        "a list worth compressing: {} bytes",
        plain.len()
    );

    let br = get("gzip, br").await;
    assert_eq!(br.headers()["content-encoding"], "br");
    let vary: Vec<&str> = br
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.contains(&"Accept-Encoding"), "{vary:?}");
    let br_tag = br.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(br_tag, plain_tag, "each encoding is its own representation");
    let body = br.bytes().await.unwrap();
    assert!(
        body.len() < plain.len() / 3,
        "{} of {}",
        body.len(),
        plain.len()
    );
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);

    let gz = get("gzip").await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let body = gz.bytes().await.unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);

    // Revalidating the brotli copy.
    let again = app
        .http
        .get(&url)
        .bearer_auth(&staff)
        .header("accept-encoding", "br")
        .header("if-none-match", &br_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Small answers are sent as they are.
    let small = app
        .http
        .get(format!("{}/api/presence", app.url))
        .bearer_auth(&staff)
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert!(small.headers().get("content-encoding").is_none());
}
