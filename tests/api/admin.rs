use serde_json::Value;

use super::helpers::spawn_app;

fn names(node: &Value, out: &mut Vec<String>) {
    out.push(node["name"].as_str().unwrap().to_owned());
    for child in node["children"].as_array().unwrap() {
        names(child, out);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_see_the_live_tree_and_the_breaker_staff_do_not() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    for path in ["/api/admin/actors", "/api/admin/breaker", "/api/admin/dlq"] {
        let response = app.get(path, &staff).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }

    let tree = app.get_json("/api/admin/actors", &admin).await;
    assert_eq!(tree["name"], "root");
    let mut all = Vec::new();
    names(&tree, &mut all);
    for expected in [
        "rooms", "limiter", "dlq", "breaker", "senders", "outbox", "reports", "attempts",
        "presence", "notifier",
    ] {
        assert!(
            all.iter().any(|n| n == expected),
            "{expected} missing from {all:?}"
        );
    }
    let senders = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "breaker")
        .unwrap()["children"][0]
        .clone();
    assert_eq!(senders["name"], "senders");
    let workers = senders["children"].as_array().unwrap();
    assert_eq!(workers.len(), 4, "BELFRY_SENDER_WORKERS=4 in tests");
    assert!(workers.iter().all(|w| w["kind"] == "sender-worker"));
    let top: Vec<&str> = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        top,
        [
            "attempts",
            "breaker",
            "dlq",
            "limiter",
            "notifier",
            "outbox",
            "presence",
            "reconciler",
            "reports",
            "rooms"
        ]
    );
    assert!(
        tree["children"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "running")
    );

    let token = staff;
    app.send(&token, &app.grace.member_ids).await;
    app.telnyx.wait_for_requests(3).await;
    let mut breaker = Value::Null;
    for _ in 0..100 {
        breaker = app.get_json("/api/admin/breaker", &admin).await;
        if breaker["counts"]["successes"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(breaker["state"], "closed");
    assert_eq!(breaker["counts"]["successes"], 3);
    assert_eq!(breaker["counts"]["failures"], 0);
    assert_eq!(breaker["window"].as_array().unwrap().len(), 3);
    let tree = app.get_json("/api/admin/actors", &admin).await;
    let breaker_node = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "breaker")
        .unwrap();
    assert!(
        breaker_node["handled"].as_u64().unwrap() >= 4,
        "{breaker_node}"
    );
}

/// Every room and limiter named in the tree.
fn keyed(tree: &Value) -> Vec<String> {
    let mut all = Vec::new();
    names(tree, &mut all);
    all.retain(|n| n.contains(':') || n == "admins");
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn a_church_admin_sees_only_their_church_in_the_tree_and_the_abuse_view() {
    let app = super::helpers::spawn_app_with(&[("BELFRY_LIMIT_API", "1000/3600")]).await;
    let grace_staff = app.login(&app.grace.staff_email).await;
    let other_staff = app.login(&app.other.staff_email).await;
    let (grace_id, other_id) = (app.user_id(&grace_staff), app.user_id(&other_staff));
    let _grace_socket = app.connect(&grace_staff).await;
    let _other_socket = app.connect(&other_staff).await;
    // Rooms start their actor with their first event: a send gives each church's room one.
    app.send(&grace_staff, &app.grace.member_ids).await;
    app.send(&other_staff, &app.other.member_ids).await;
    app.telnyx.wait_for_requests(4).await;

    let admin = app.login(&app.grace.admin_email).await;
    let admin_id = app.user_id(&admin);
    let seen = keyed(&app.get_json("/api/admin/actors", &admin).await);
    let grace = app.grace.id;
    for expected in [
        format!("church:{grace}"),
        format!("limits:user:{grace_id}"),
        format!("limits:user:{admin_id}"),
    ] {
        assert!(seen.contains(&expected), "{expected} missing from {seen:?}");
    }
    for hidden in [
        format!("church:{}", app.other.id),
        format!("limits:user:{other_id}"),
    ] {
        assert!(
            !seen.contains(&hidden),
            "{hidden} shown to another church: {seen:?}"
        );
    }
    assert!(
        seen.iter().all(|n| !n.starts_with("limits:ip:")),
        "{seen:?}"
    );

    let operator = app.operator().await;
    let everything = keyed(&app.get_json("/api/admin/actors", &operator).await);
    assert!(
        everything.contains(&format!("church:{}", app.other.id)),
        "{everything:?}"
    );
    assert!(
        everything.contains(&format!("limits:user:{other_id}")),
        "{everything:?}"
    );
    assert!(
        everything.iter().any(|n| n.starts_with("limits:ip:")),
        "{everything:?}"
    );

    let view = app.get_json("/api/admin/limits", &admin).await;
    let users: Vec<i64> = view["topConsumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_i64().unwrap())
        .collect();
    assert!(
        users.contains(&grace_id) && !users.contains(&other_id),
        "{view}"
    );
    assert!(view.get("keysTracked").is_none(), "{view}");
    let view = app.get_json("/api/admin/limits", &operator).await;
    let users: Vec<i64> = view["topConsumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_i64().unwrap())
        .collect();
    assert!(
        users.contains(&grace_id) && users.contains(&other_id),
        "{view}"
    );
    assert!(view["keysTracked"].as_u64().unwrap() > 0);
}
