//! Bad request bodies over real HTTP, on every route that reads one: the wrong media type is
//! `415`, a body over the configured limit `413` (with or without `Content-Length`), bad JSON
//! `400` saying what kind of problem; never a `500`, and nothing is stored.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::{TestApp, spawn_app_with};

const LIMIT: usize = 4096;

/// A bad body and what it must get: content type, bytes, status, error code, kind of problem.
type Case = (
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
    Option<&'static str>,
);

/// Every route with a JSON body, and whether it needs an admin.
const BODY_ROUTES: [(&str, &str, bool); 7] = [
    ("POST", "/api/auth/login", false),
    ("POST", "/api/members", false),
    ("POST", "/api/messages", false),
    ("POST", "/api/chat/rooms", true),
    ("POST", "/api/admin/breaker", true),
    ("POST", "/api/admin/dlq/retry", true),
    ("DELETE", "/api/admin/dlq/1", true),
];

async fn call(
    app: &TestApp,
    (method, path): (&str, &str),
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let method = method.parse().unwrap();
    let response = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_body_route_refuses_bad_bodies_with_the_right_status() {
    let limit = LIMIT.to_string();
    let app = spawn_app_with(&[("BELFRY_MAX_BODY_BYTES", &limit)]).await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let oversized = json!({ "body": "x".repeat(LIMIT) })
        .to_string()
        .into_bytes();
    let cases: [Case; 6] = [
        (
            "text/plain",
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "application/json",
            oversized,
            413,
            "payload_too_large",
            None,
        ),
        (
            "application/json",
            b"{not json".to_vec(),
            400,
            "invalid_json",
            Some("syntax"),
        ),
        (
            "application/json",
            b"[1, 2]".to_vec(),
            400,
            "invalid_json",
            Some("type"),
        ),
        (
            "application/json",
            br#"{"name": 7, "email": 7, "body": 7, "state": 7, "note": 7}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        (
            "application/json",
            br#"{"colour": "red"}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
    ];
    for (method, path, needs_admin) in BODY_ROUTES {
        let token = if needs_admin { &admin } else { &staff };
        for (content_type, body, status, code, problem) in &cases {
            let (got, error) = call(&app, (method, path), token, content_type, body.clone()).await;
            assert_eq!(got, *status, "{method} {path} {content_type} → {error}");
            assert_eq!(error["error"]["code"], *code, "{method} {path}: {error}");
            assert!(error["error"]["message"].is_string());
            if let Some(problem) = problem {
                assert_eq!(error["error"]["details"]["problem"], *problem, "{path}");
            }
        }
    }
    // The unknown field is named.
    let (_, error) = call(
        &app,
        ("POST", "/api/members"),
        &staff,
        "application/json",
        br#"{"name": "A", "phone": "+12025550100", "colour": "red"}"#.to_vec(),
    )
    .await;
    assert_eq!(error["error"]["details"]["problem"], "unknown_field");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    // Nothing was stored or sent.
    let members = app.get_json("/api/members", &staff).await;
    assert_eq!(
        members["members"].as_array().unwrap().len(),
        app.grace.member_ids.len()
    );
    assert!(app.telnyx.requests().is_empty());
}

/// A chunked body has no `Content-Length`: it is still cut off at the limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_body_over_the_limit_is_413() {
    let limit = LIMIT.to_string();
    let app = spawn_app_with(&[("BELFRY_MAX_BODY_BYTES", &limit)]).await;
    let staff = app.login(&app.grace.staff_email).await;
    let chunked = |body: &str| {
        let mut request = format!(
            "POST /api/members HTTP/1.1\r\nhost: belfry\r\nauthorization: Bearer {staff}\r\n\
             content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        for piece in body.as_bytes().chunks(1000) {
            request.push_str(&format!("{:x}\r\n", piece.len()));
            request.push_str(std::str::from_utf8(piece).unwrap());
            request.push_str("\r\n");
        }
        request.push_str("0\r\n\r\n");
        request
    };
    let addr = app.url.trim_start_matches("http://").to_owned();
    let raw = |request: String| {
        let addr = addr.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer).await;
            answer
        }
    };
    let big = json!({"name": "x".repeat(2 * LIMIT), "phone": "+12025550100"}).to_string();
    let answer = raw(chunked(&big)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");

    let small = json!({"name": "Chunked Member", "phone": "+12025550777"}).to_string();
    let answer = raw(chunked(&small)).await;
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "within the limit it is taken: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_below_a_kilobyte_is_refused_at_start_up() {
    let env = |name: &str| match name {
        "BELFRY_MAX_BODY_BYTES" => Some("100".to_owned()),
        "BELFRY_JWT_SECRET" => Some(super::helpers::JWT_SECRET.to_owned()),
        _ => None,
    };
    let error = belfry::config::Config::from_source(&env, None)
        .err()
        .unwrap();
    assert_eq!(error.var, "BELFRY_MAX_BODY_BYTES");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_in_any_text_is_a_400_and_nothing_is_stored() {
    let app = spawn_app_with(&[]).await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let before = app.get_json("/api/messages/history", &staff).await;
    let refused = [
        (
            "/api/messages",
            json!({"body": "Choir\u{0} at 7", "allMembers": true}),
        ),
        (
            "/api/members",
            json!({"name": "Ruth\u{0}", "phone": "+442071838750"}),
        ),
        (
            "/api/members",
            json!({"name": "Ruth", "phone": "+4420718\u{0}38750"}),
        ),
    ];
    for (path, body) in refused {
        let response = app.post_json(path, Some(&staff), &body).await;
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_text", "{path}: {error}");
    }
    // Other control characters in an SMS body are refused too; line breaks and tabs are text.
    let bell = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Choir\u{7} at 7", "allMembers": true}),
        )
        .await;
    assert_eq!(bell.status(), 400);
    let error: Value = bell.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_body");
    let fine = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Choir\r\n\tat 7", "allMembers": true}),
        )
        .await;
    assert_eq!(fine.status(), 202);
    // In a query string.
    for path in ["/api/admin/dlq?reason=a%00b", "/api/members?q=%00"] {
        let response = app
            .http
            .get(format!("{}{path}", app.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_text", "{path}");
    }
    let after = app.get_json("/api/messages/history", &staff).await;
    assert_eq!(
        after["messages"].as_array().unwrap().len(),
        before["messages"].as_array().unwrap().len() + 1,
        "only the message without a NUL or a bell was stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_names_the_allowed_ones_and_an_unknown_query_parameter_is_400() {
    let app = spawn_app_with(&[]).await;
    let staff = app.login(&app.grace.staff_email).await;
    let put = app
        .http
        .put(format!("{}/api/members", app.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, POST");
    let delete = app
        .http
        .delete(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 405);
    assert_eq!(delete.headers()["allow"], "GET");
    // `/api/admin/dlq/{id}` takes a number: `retry` reaches only its own route.
    let admin = app.login(&app.grace.admin_email).await;
    let get_retry = app.get("/api/admin/dlq/retry", &admin).await;
    assert_eq!(get_retry.status(), 405);
    assert_eq!(get_retry.headers()["allow"], "POST");
    // GET /api/members refuses the parameter; POST /api/members the method: the query wins.
    for path in ["/api/members?bogus=1", "/api/messages/history?bogus=1"] {
        let response = app
            .http
            .get(format!("{}{path}", app.url))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_query", "{path}");
    }
}
