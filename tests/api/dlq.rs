//! Reviewing the dead-letter queue: filters and paging, retry one, redrive all, discard.

use serde_json::{Value, json};

use super::fake_telnyx::Reply;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn admins_filter_page_retry_redrive_and_discard_dead_letters() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    app.telnyx.always(Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    });
    let id = app.send(&staff, &app.grace.member_ids).await;
    app.wait_for_message(&staff, id, |m| m["failedCount"] == 3)
        .await;

    let get = |query: &str| {
        let path = format!("/api/admin/dlq{query}");
        let (app, admin) = (&app, &admin);
        async move { app.get_json(&path, admin).await }
    };
    assert_eq!(get("").await["total"], 3);
    assert_eq!(get("?reason=40310").await["total"], 3);
    assert_eq!(get("?reason=timeout").await["total"], 0);
    assert_eq!(get(&format!("?messageId={id}")).await["total"], 3);
    assert_eq!(get("?since=2999-01-01T00:00:00Z").await["total"], 0);
    assert_eq!(get("?until=2999-01-01T00:00:00Z").await["total"], 3);
    let page = get("?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest = get("?limit=2&offset=2").await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/api/admin/dlq?state=lost", &admin).await;
    assert_eq!(bad.status(), 400);
    let bad = app.get("/api/admin/dlq?since=yesterday", &admin).await;
    assert_eq!(bad.status(), 400);

    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    app.telnyx.always(Reply::Accept);

    // Retry one: it goes back through the outbox and Telnyx accepts it.
    let response = app
        .post_json(
            &format!("/api/admin/dlq/{}/retry", ids[0]),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = app
        .post_json(
            &format!("/api/admin/dlq/{}/retry", ids[0]),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let again = app
        .post_json(
            &format!("/api/admin/dlq/{}/retry", ids[0]),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), 404, "a retried entry is no longer open");
    app.wait_for_message(&staff, id, |m| {
        m["failedCount"] == 2
            && m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "queued")
    })
    .await;
    assert_eq!(get("").await["total"], 2);
    assert_eq!(get("?state=retried").await["total"], 1);

    // Discard one, with who and why.
    let delete = |id: i64, body: Value| {
        app.http
            .delete(format!("{}/api/admin/dlq/{id}", app.url))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    assert_eq!(
        delete(ids[1], json!({"note": ""})).await.unwrap().status(),
        400
    );
    let discarded = delete(ids[1], json!({"note": "number disconnected"}))
        .await
        .unwrap();
    assert_eq!(discarded.status(), 200);
    let discarded: Value = discarded.json().await.unwrap();
    assert_eq!(discarded["resolution"], "discarded");
    assert_eq!(discarded["resolutionNote"], "number disconnected");
    assert!(discarded["resolvedBy"].is_i64());
    assert_eq!(
        delete(ids[1], json!({"note": "again"}))
            .await
            .unwrap()
            .status(),
        404
    );

    // Redrive every open entry matching a filter: only the last one is left.
    let redrive = app
        .post_json(
            "/api/admin/dlq/retry",
            Some(&admin),
            &json!({"reason": "40310"}),
        )
        .await;
    assert_eq!(redrive.status(), 202);
    assert_eq!(redrive.json::<Value>().await.unwrap()["retried"], 1);
    let message = app
        .wait_for_message(&staff, id, |m| {
            m["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] == "queued")
                .count()
                == 2
        })
        .await;
    assert_eq!(message["failedCount"], 1);
    assert_eq!(message["status"], "sending");
    assert_eq!(get("").await["total"], 0);
    assert_eq!(get("?state=all").await["total"], 3);

    // Another church's admin sees and touches none of it.
    let other = app.login(&app.other.admin_email).await;
    assert_eq!(
        app.get_json("/api/admin/dlq?state=all", &other).await["total"],
        0
    );
    let response = app
        .post_json(
            &format!("/api/admin/dlq/{}/retry", ids[2]),
            Some(&other),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_church_sees_only_its_own_dead_letters_and_operators_see_every_church() {
    let app = spawn_app().await;
    app.telnyx.always(Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    });
    for church in [&app.grace, &app.other] {
        let staff = app.login(&church.staff_email).await;
        let id = app.send(&staff, &church.member_ids).await;
        let n = church.member_ids.len();
        app.wait_for_message(&staff, id, |m| m["failedCount"] == n)
            .await;
    }
    let admin = app.login(&app.grace.admin_email).await;
    let other_admin = app.login(&app.other.admin_email).await;
    let operator = app.operator().await;
    assert_eq!(app.get_json("/api/admin/dlq", &admin).await["total"], 3);
    assert_eq!(
        app.get_json("/api/admin/dlq", &other_admin).await["total"],
        1
    );
    assert_eq!(app.get_json("/api/admin/dlq", &operator).await["total"], 4);
    // Each church's admins are told once that dead letters are collecting, not once for each;
    // staff are not told.
    for token in [&admin, &other_admin] {
        let mut told = Vec::new();
        for _ in 0..100 {
            let inbox = app
                .get_json("/api/notifications?category=system", token)
                .await;
            told = inbox["notifications"].as_array().unwrap().clone();
            if !told.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let inbox = app
            .get_json("/api/notifications?category=system", token)
            .await;
        let told_now = inbox["notifications"].as_array().unwrap();
        assert_eq!(told_now.len(), 1, "{told:?}");
        assert_eq!(told_now[0]["title"], "Dead letters are collecting");
        assert_eq!(told_now[0]["priority"], "low");
    }
    let staff = app.login(&app.grace.staff_email).await;
    let staff_inbox = app
        .get_json("/api/notifications?category=system", &staff)
        .await;
    assert_eq!(staff_inbox["notifications"], json!([]));
    let other_only = format!("/api/admin/dlq?churchId={}", app.other.id);
    assert_eq!(app.get_json(&other_only, &operator).await["total"], 1);
    // A church's admin cannot name another church, nor act on its entries.
    assert_eq!(app.get(&other_only, &admin).await.status(), 403);
    let theirs = app.get_json("/api/admin/dlq", &other_admin).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let retry = app
        .post_json(
            &format!("/api/admin/dlq/{theirs}/retry"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(retry.status(), 404);
    app.telnyx.always(Reply::Accept);
    let redriven = app
        .post_json("/api/admin/dlq/retry", Some(&admin), &json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(redriven["retried"], 3, "their own only");
    assert_eq!(
        app.get_json("/api/admin/dlq", &other_admin).await["total"],
        1
    );
    // An operator redrives across churches.
    let all = app
        .post_json("/api/admin/dlq/retry", Some(&operator), &json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(all["retried"], 1);
}
