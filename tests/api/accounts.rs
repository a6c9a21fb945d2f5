//! Accounts after sign-in: tokens that can be taken back (sign-out, password change, a disabled
//! or demoted account), and a church's admins managing their staff over HTTP.

use std::time::Duration;

use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, spawn_app};

async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_out_token_stops_working_and_its_socket_closes() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let other_token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;

    let refreshed = app
        .post_json("/api/auth/refresh", Some(&token), &json!({}))
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    let fresh = refreshed["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    assert_eq!(refreshed["user"]["role"], "staff");

    let out = app
        .post_json("/api/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(out.status(), 200);
    assert_eq!(app.get("/api/members", &token).await.status(), 401);
    let (status, code) = error_code(app.get("/api/members", &token).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    // The socket opened with it is closed, with the code for a refused authentication.
    assert_eq!(socket.close_code(Duration::from_secs(10)).await, Some(4003));
    // Only that token: the user's other tokens keep working.
    assert_eq!(app.get("/api/members", &other_token).await.status(), 200);
    assert_eq!(app.get("/api/members", &fresh).await.status(), 200);
    // A new socket with the signed-out token is refused at the upgrade.
    let refused = tokio_tungstenite::connect_async(app.ws_url(&token)).await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_revokes_every_older_token() {
    let app = spawn_app().await;
    let old = app.login(&app.grace.staff_email).await;
    let older = app.login(&app.grace.staff_email).await;

    let wrong = app
        .post_json(
            "/api/auth/password",
            Some(&old),
            &json!({"currentPassword": "not it", "newPassword": "a new long password"}),
        )
        .await;
    assert_eq!(error_code(wrong).await, (403, "wrong_password".to_owned()));
    let short = app
        .post_json(
            "/api/auth/password",
            Some(&old),
            &json!({"currentPassword": PASSWORD, "newPassword": "short"}),
        )
        .await;
    assert_eq!(
        error_code(short).await,
        (400, "invalid_password".to_owned())
    );
    assert_eq!(
        app.get("/api/members", &old).await.status(),
        200,
        "nothing changed yet"
    );

    let changed = app
        .post_json(
            "/api/auth/password",
            Some(&old),
            &json!({"currentPassword": PASSWORD, "newPassword": "a new long password"}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    let new = changed["token"].as_str().unwrap();
    for token in [&old, &older] {
        assert_eq!(app.get("/api/members", token).await.status(), 401);
    }
    assert_eq!(app.get("/api/members", new).await.status(), 200);
    let login = |password: &str| {
        let body = json!({"email": app.grace.staff_email, "password": password});
        let app = &app;
        async move { app.post_json("/api/auth/login", None, &body).await.status() }
    };
    assert_eq!(login(PASSWORD).await, 401);
    assert_eq!(login("a new long password").await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_their_staff_and_a_disabled_user_is_locked_out_at_once() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let admin_id = app.user_id(&admin);

    // Staff cannot manage users.
    assert_eq!(app.get("/api/admin/users", &staff).await.status(), 403);
    let list = app.get_json("/api/admin/users", &admin).await;
    let emails: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [app.grace.admin_email.as_str(), &app.grace.staff_email]
    );

    // Adding one: they can sign in at once.
    let new = json!({"email": "Deacon@Grace.test", "name": " Deacon Jones ", "role": "staff",
        "password": "deacon password"});
    let created = app.post_json("/api/admin/users", Some(&admin), &new).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        (
            &created["email"],
            &created["name"],
            &created["role"],
            &created["disabled"]
        ),
        (
            &json!("deacon@grace.test"),
            &json!("Deacon Jones"),
            &json!("staff"),
            &json!(false)
        )
    );
    let deacon_id = created["id"].as_i64().unwrap();
    let login = json!({"email": "deacon@grace.test", "password": "deacon password"});
    assert_eq!(
        app.post_json("/api/auth/login", None, &login)
            .await
            .status(),
        200
    );
    let again = app.post_json("/api/admin/users", Some(&admin), &new).await;
    assert_eq!(error_code(again).await, (409, "email_taken".to_owned()));
    for (field, value, code) in [
        ("role", json!("operator"), "invalid_role"),
        ("email", json!("nobody"), "invalid_email"),
        ("name", json!("Bell\u{7}"), "invalid_name"),
        ("password", json!("short"), "invalid_password"),
    ] {
        let mut bad = json!({"email": "x@grace.test", "name": "X", "role": "staff",
            "password": "long enough"});
        bad[field] = value;
        let refused = app.post_json("/api/admin/users", Some(&admin), &bad).await;
        assert_eq!(error_code(refused).await, (400, code.to_owned()), "{field}");
    }

    // Nothing to change is the user as they are, not a failed UPDATE.
    let unchanged = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/users/{staff_id}"),
        &admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(unchanged.status(), 200);
    assert_eq!(unchanged.json::<Value>().await.unwrap()["role"], "staff");

    // Promote: the old token stays staff (a token never grants more than it says).
    let promoted = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/users/{staff_id}"),
        &admin,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(app.get("/api/admin/users", &staff).await.status(), 403);
    // Demote again: an admin token of theirs loses admin at once.
    let as_admin = app.login(&app.grace.staff_email).await;
    assert_eq!(app.get("/api/admin/users", &as_admin).await.status(), 200);
    let demoted = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/users/{staff_id}"),
        &admin,
        Some(json!({"role": "staff", "name": "Renamed"})),
    )
    .await;
    assert_eq!(demoted.status(), 200);
    assert_eq!(demoted.json::<Value>().await.unwrap()["name"], "Renamed");
    assert_eq!(app.get("/api/admin/users", &as_admin).await.status(), 403);
    assert_eq!(app.get("/api/members", &as_admin).await.status(), 200);

    // Admins cannot lock themselves out.
    let own = send_json(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/admin/users/{admin_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        error_code(own).await,
        (409, "cannot_change_self".to_owned())
    );

    // Disabling (DELETE): requests refused at once, the socket closed, no new sign-in; history kept.
    let message_id = app.send(&staff, &app.grace.member_ids).await;
    let mut socket = app.connect(&staff).await;
    let disabled = send_json(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/admin/users/{staff_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(disabled.status(), 200);
    assert_eq!(disabled.json::<Value>().await.unwrap()["disabled"], true);
    assert_eq!(app.get("/api/members", &staff).await.status(), 401);
    let sent = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "hi", "allMembers": true}),
        )
        .await;
    assert_eq!(sent.status(), 401, "not a 500");
    assert_eq!(socket.close_code(Duration::from_secs(10)).await, Some(4003));
    let login = json!({"email": app.grace.staff_email, "password": PASSWORD});
    let refused = app.post_json("/api/auth/login", None, &login).await;
    assert_eq!(
        error_code(refused).await,
        (403, "account_disabled".to_owned())
    );
    let shown = app
        .get_json(&format!("/api/messages/{message_id}"), &admin)
        .await;
    assert_eq!(shown["id"], message_id);
    // Re-enabled: they sign in again.
    let enabled = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/users/{staff_id}"),
        &admin,
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    assert_eq!(
        app.post_json("/api/auth/login", None, &login)
            .await
            .status(),
        200
    );

    // Another church's users are out of reach, and so are operators.
    let other_admin = app.login(&app.other.admin_email).await;
    let reach = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/admin/users/{deacon_id}"),
        &other_admin,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(reach.status(), 404);
    let named = app
        .get(
            &format!("/api/admin/users?churchId={}", app.grace.id),
            &other_admin,
        )
        .await;
    assert_eq!(named.status(), 403);
    let operator = app.operator().await;
    let operator_id = app.user_id(&operator);
    let seen = app
        .get_json(
            &format!("/api/admin/users?churchId={}", app.grace.id),
            &operator,
        )
        .await;
    assert_eq!(seen["users"].as_array().unwrap().len(), 3);
    let at_operator = send_json(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/admin/users/{operator_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(at_operator.status(), 404);
    assert_eq!(
        app.get("/api/admin/users", &operator).await.status(),
        403,
        "no church named"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_whose_account_is_gone_or_elsewhere_is_refused_not_a_500() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    // Validly signed tokens naming an account that does not exist, or the wrong church.
    let subject = |user_id, church_id| belfry::auth::TokenSubject {
        user_id,
        church_id: Some(church_id),
        role: belfry::domain::Role::Admin,
        token_version: 0,
    };
    let keys = &app.state.auth.keys;
    let ghost = keys.mint(&subject(999_999, app.grace.id)).unwrap().token;
    let moved = keys.mint(&subject(staff_id, app.other.id)).unwrap().token;
    for token in [&ghost, &moved] {
        assert_eq!(app.get("/api/members", token).await.status(), 401);
        let sent = app
            .post_json(
                "/api/messages",
                Some(token),
                &json!({"body": "hi", "allMembers": true}),
            )
            .await;
        assert_eq!(sent.status(), 401);
        assert!(
            tokio_tungstenite::connect_async(app.ws_url(token))
                .await
                .is_err()
        );
    }
    // An admin claim on a staff account is cut down to staff.
    let inflated = keys.mint(&subject(staff_id, app.grace.id)).unwrap().token;
    assert_eq!(app.get("/api/members", &inflated).await.status(), 200);
    assert_eq!(app.get("/api/admin/users", &inflated).await.status(), 403);
}
