//! CORS: a page on a listed origin calls the API from Chromium and reads the headers it needs;
//! a page on any other origin is kept from the answers; preflights answer what may be sent.

use std::time::Duration;

use fantoccini::Locator;
use warp::Filter;

use super::console::Browser;
use super::helpers::{PASSWORD, spawn_app, spawn_app_with};

/// Serves one page on a port of its own (another origin than the API's); its origin.
async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = warp::path::end().map(move || warp::reply::html(html.clone()));
    tokio::spawn(warp::serve(page).incoming(listener).run());
    origin
}

/// A web app that signs in and lists the members, then writes what it could read.
fn web_app(api: &str, email: &str) -> String {
    format!(
        r#"<!doctype html><title>app</title><pre id="out">…</pre><script type="module">
const out = document.getElementById("out");
try {{
  const login = await fetch("{api}/api/auth/login", {{ method: "POST",
    headers: {{ "Content-Type": "application/json" }},
    body: JSON.stringify({{ email: "{email}", password: "{PASSWORD}" }}) }});
  const {{ token }} = await login.json();
  const members = await fetch("{api}/api/members", {{ headers: {{ Authorization: `Bearer ${{token}}` }} }});
  const etag = members.headers.get("ETag") ? "etag" : "no etag";
  const limit = members.headers.get("RateLimit") ? "ratelimit" : "no ratelimit";
  const {{ members: list }} = await members.json();
  out.textContent = `${{list.length}} members, ${{etag}}, ${{limit}}`;
}} catch (e) {{
  out.textContent = `blocked: ${{e.name}}`;
}}
</script>"#
    )
}

async fn page_says(browser: &Browser, url: &str) -> String {
    browser.client.goto(url).await.unwrap();
    let out = browser.client.find(Locator::Id("out")).await.unwrap();
    for _ in 0..100 {
        let text = out.text().await.unwrap();
        if text != "…" {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page at {url} never finished");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_a_listed_origin_may_call_the_api_and_any_other_may_not() {
    // The pages need the API's address and the API their origins: the listener is bound first.
    let listed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listed_origin = format!("http://{}", listed.local_addr().unwrap());
    let app = spawn_app_with(&[("BELFRY_CORS_ORIGINS", &format!("{listed_origin}/"))]).await;
    let html = web_app(&app.url, &app.grace.staff_email);
    let page = warp::path::end().map({
        let html = html.clone();
        move || warp::reply::html(html.clone())
    });
    tokio::spawn(warp::serve(page).incoming(listed).run());
    let unlisted_origin = serve_page(html).await;

    let browser = Browser::open().await;
    assert_eq!(
        page_says(&browser, &listed_origin).await,
        format!("{} members, etag, ratelimit", app.grace.member_ids.len())
    );
    assert_eq!(
        page_says(&browser, &unlisted_origin).await,
        "blocked: TypeError"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn preflights_name_the_methods_and_headers_and_only_listed_origins_get_cors_headers() {
    let origin = "https://app.example.test";
    let app = spawn_app_with(&[("BELFRY_CORS_ORIGINS", origin)]).await;
    let preflight = |from: &'static str| {
        app.http
            .request(
                warp::http::Method::OPTIONS,
                format!("{}/api/messages", app.url),
            )
            .header("origin", from)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight(origin).await.unwrap();
    assert!(allowed.status().is_success());
    let header = |name: &str| {
        allowed
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .unwrap_or_default()
    };
    assert_eq!(header("access-control-allow-origin"), origin);
    for method in ["get", "post", "patch", "delete"] {
        assert!(header("access-control-allow-methods").contains(method));
    }
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-none-match",
    ] {
        assert!(
            header("access-control-allow-headers").contains(name),
            "{name}"
        );
    }
    let refused = preflight("https://evil.example.test").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let token = app.login(&app.grace.staff_email).await;
    let get = |from: &'static str| {
        app.http
            .get(format!("{}/api/members", app.url))
            .bearer_auth(&token)
            .header("origin", from)
            .send()
    };
    let answered = get(origin).await.unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["access-control-allow-origin"], origin);
    let exposed = answered.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["etag", "ratelimit", "ratelimit-policy", "retry-after"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    let other = get("https://evil.example.test").await.unwrap();
    assert_eq!(
        other.status(),
        200,
        "answered, without letting a browser read it"
    );
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Without the variable, no origin gets CORS headers.
    let plain = spawn_app().await;
    let token = plain.login(&plain.grace.staff_email).await;
    let answer = plain
        .http
        .get(format!("{}/api/members", plain.url))
        .bearer_auth(&token)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
