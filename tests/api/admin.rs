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
        "presence",
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
            "attempts", "breaker", "dlq", "limiter", "outbox", "presence", "reports", "rooms"
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
