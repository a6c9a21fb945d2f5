use serde_json::{Value, json};

use super::helpers::{PASSWORD, spawn_app};

#[tokio::test(flavor = "multi_thread")]
async fn login_returns_a_token_and_the_user() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": app.grace.staff_email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().split('.').count() == 3);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["user"]["churchId"], app.grace.id);
    assert_eq!(body["user"]["role"], "staff");
    assert_eq!(body["user"]["name"], "Test User");
    let token = body["token"].as_str().unwrap();
    assert_eq!(app.get("/api/members", token).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": app.grace.staff_email, "password": "not the password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": "nobody@grace.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "unauthorized");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(format!("{}/api/auth/login", app.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");

    let response = app
        .http
        .get(format!("{}/api/members", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(format!("{}/api/nothing-here", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
