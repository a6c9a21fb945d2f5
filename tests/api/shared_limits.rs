//! Limits across nodes through a real Redis: two servers on one database and one Redis share
//! each user's and each address's buckets (login lock-outs included); with Redis unreachable a
//! node still serves, limits on its own, and says it is degraded.

use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, spawn_app_with};

const REDIS: &str = "redis://127.0.0.1:6379";

/// Keys of this test run only: tests share one Redis.
fn prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{nanos}:")
}

async fn members_at(app: &TestApp, url: &str, token: &str) -> reqwest::Response {
    app.http
        .get(format!("{url}/api/members"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn remaining(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get("ratelimit")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    header
        .split(';')
        .find_map(|part| part.strip_prefix("r="))
        .unwrap_or("")
        .to_owned()
}

async fn login_at(app: &TestApp, url: &str, email: &str, password: &str) -> u16 {
    app.http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_count_one_users_requests_in_one_bucket() {
    let prefix = prefix();
    let app = spawn_app_with(&[
        ("BELFRY_REDIS_URL", REDIS),
        ("BELFRY_REDIS_PREFIX", &prefix),
        ("BELFRY_LIMIT_API", "5/3600/5"),
        ("BELFRY_LIMIT_LOGIN_IP", "3/60"),
    ])
    .await;
    let second = app.another_server().await;
    let staff = app.login(&app.grace.staff_email).await;

    // Five requests' allowance, spent on both nodes: each answer counts the other's.
    let mut left = Vec::new();
    for url in [&app.url, &second.url, &app.url, &second.url, &app.url] {
        let answer = members_at(&app, url, &staff).await;
        assert_eq!(answer.status(), 200);
        left.push(remaining(&answer));
    }
    assert_eq!(left, ["4", "3", "2", "1", "0"]);
    for url in [&second.url, &app.url] {
        let refused = members_at(&app, url, &staff).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    // Another user has their own bucket.
    let admin = app.login(&app.grace.admin_email).await;
    assert_eq!(members_at(&app, &second.url, &admin).await.status(), 200);

    // Login guesses from one address: the lock-out follows it to the other node.
    let email = app.grace.staff_email.clone();
    let mut statuses = Vec::new();
    for url in [&app.url, &second.url, &app.url] {
        statuses.push(login_at(&app, url, &email, "wrong password").await);
    }
    // (Two logins above already counted: the test's own sign-ins.)
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(login_at(&app, &second.url, &email, PASSWORD).await, 429);

    let ready: Value = app
        .http
        .get(format!("{}/ready", second.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_redis_a_node_limits_on_its_own_and_says_so() {
    let app = spawn_app_with(&[
        // Nothing listens there.
        ("BELFRY_REDIS_URL", "redis://127.0.0.1:1"),
        ("BELFRY_LIMIT_API", "3/3600/3"),
    ])
    .await;
    let second = app.another_server().await;
    let staff = app.login(&app.grace.staff_email).await;
    for url in [&app.url, &second.url] {
        // Each node counts alone: three each, then refused.
        for _ in 0..3 {
            assert_eq!(members_at(&app, url, &staff).await.status(), 200);
        }
        assert_eq!(members_at(&app, url, &staff).await.status(), 429);
        let ready = app.http.get(format!("{url}/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready["status"], "degraded");
    }
}
