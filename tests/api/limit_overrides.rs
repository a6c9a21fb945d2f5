//! Limits set per church, exempt service accounts, client addresses behind a trusted proxy,
//! over real HTTP, and the refusals counted in `GET /metrics`.

use serde_json::json;

use super::helpers::{TestApp, spawn_app_with};

/// Fresh databases number their churches from 1: Grace first, then Other.
fn assert_church_ids(app: &TestApp) {
    assert_eq!((app.grace.id, app.other.id), (1, 2));
}

async fn statuses(app: &TestApp, token: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(app.get("/api/members", token).await.status().as_u16());
    }
    statuses
}

async fn metric(app: &TestApp, policy: &str) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("belfry_rate_limit_denials_total{{policy=\"{policy}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .unwrap_or_else(|| panic!("no {series} in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_church_with_a_limit_of_its_own_gets_it_and_others_keep_the_default() {
    let app = spawn_app_with(&[
        ("BELFRY_LIMIT_API", "3/3600"),
        ("BELFRY_LIMIT_CHURCH_OVERRIDES", "1:api=20/3600"),
    ])
    .await;
    assert_church_ids(&app);
    let grace = app.login(&app.grace.staff_email).await;
    let other = app.login(&app.other.staff_email).await;

    assert_eq!(statuses(&app, &other, 4).await, [200, 200, 200, 429]);
    let grace_statuses = statuses(&app, &grace, 10).await;
    assert!(
        grace_statuses.iter().all(|s| *s == 200),
        "{grace_statuses:?}"
    );
    let response = app.get("/api/members", &grace).await;
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"api\";q=20;w=3600"
    );

    // The refusal is counted for scrapers.
    assert_eq!(metric(&app, "api").await, 1);
    assert_eq!(metric(&app, "sms").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_churchs_own_daily_quota_replaces_the_default() {
    let app = spawn_app_with(&[
        ("BELFRY_LIMIT_CHURCH_RECIPIENTS_PER_DAY", "100"),
        ("BELFRY_LIMIT_CHURCH_OVERRIDES", "1:recipients-per-day=2"),
    ])
    .await;
    assert_church_ids(&app);
    let grace = app.login(&app.grace.staff_email).await;
    let other = app.login(&app.other.staff_email).await;
    let everyone = json!({"body": "Vespers at six", "allMembers": true});
    let response = app
        .post_json("/api/messages", Some(&grace), &everyone)
        .await;
    assert_eq!(response.status(), 429, "three members, a quota of two");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(body["error"]["details"]["quota"], 2);
    let response = app
        .post_json("/api/messages", Some(&other), &everyone)
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(metric(&app, "church-recipients").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_is_never_limited() {
    let app = spawn_app_with(&[("BELFRY_LIMIT_API", "2/3600")]).await;
    let service = app.login(&app.grace.admin_email).await;
    let service_id = app.user_id(&service).to_string();
    drop(app);
    let app = spawn_app_with(&[
        ("BELFRY_LIMIT_API", "2/3600"),
        ("BELFRY_LIMIT_EXEMPT_USERS", &service_id),
    ])
    .await;
    let service = app.login(&app.grace.admin_email).await;
    assert_eq!(app.user_id(&service).to_string(), service_id);
    let staff = app.login(&app.grace.staff_email).await;

    let served = statuses(&app, &service, 6).await;
    assert!(served.iter().all(|s| *s == 200), "{served:?}");
    let response = app.get("/api/members", &service).await;
    assert!(
        !response.headers().contains_key("ratelimit"),
        "not counted, so no budget to report"
    );
    assert_eq!(statuses(&app, &staff, 3).await, [200, 200, 429]);
}

async fn wrong_login_from(app: &TestApp, forwarded_for: &str) -> u16 {
    app.http
        .post(format!("{}/api/auth/login", app.url))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": app.grace.staff_email, "password": "wrong"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_login_budget() {
    let app = spawn_app_with(&[
        ("BELFRY_LIMIT_LOGIN_IP", "2/60"),
        ("BELFRY_TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let first = "203.0.113.1";
    assert_eq!(wrong_login_from(&app, first).await, 401);
    assert_eq!(wrong_login_from(&app, first).await, 401);
    assert_eq!(wrong_login_from(&app, first).await, 429);
    // Another client behind the same proxy, even one that wrote a header of its own.
    assert_eq!(
        wrong_login_from(&app, &format!("{first}, 203.0.113.2")).await,
        401
    );

    // Without a trusted proxy the header is the client's own words: ignored.
    let app = spawn_app_with(&[("BELFRY_LIMIT_LOGIN_IP", "2/60")]).await;
    assert_eq!(wrong_login_from(&app, "203.0.113.1").await, 401);
    assert_eq!(wrong_login_from(&app, "203.0.113.2").await, 401);
    assert_eq!(wrong_login_from(&app, "203.0.113.3").await, 429);
}
