//! Personal merge fields: `{{ firstName }}`, `{{ name }}` and `{{ church }}` filled in for each
//! recipient in GSM-7 and UCS-2, an unknown field refused naming it, a text that renders past
//! ten segments refused, and a preview for one member that sends nothing.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};

/// Member id → name, for the Grace church.
async fn names(app: &TestApp, token: &str) -> HashMap<i64, String> {
    let members = app.get_json("/api/members", token).await;
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn refused(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_recipient_gets_their_own_name_in_gsm7_and_ucs2() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let names = names(&app, &staff).await;
    let ids = &app.grace.member_ids[..2];
    let church = app.get_json("/api/me", &staff).await;
    assert!(church["churchId"].is_i64());

    let sent = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Hi {{ firstName }}, see you Sunday ({{ name }})", "memberIds": ids}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let receipt: Value = sent.json().await.unwrap();
    assert_eq!(receipt["encoding"], "GSM-7");
    assert_eq!(receipt["segments"], 1);
    let requests = app.telnyx.wait_for_requests(2).await;
    let mut texts: Vec<String> = requests
        .iter()
        .map(|r| r.body["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| {
            let name = &names[id];
            let first = name.split_whitespace().next().unwrap();
            format!("Hi {first}, see you Sunday ({name})")
        })
        .collect();
    expected.sort();
    assert_eq!(texts, expected);

    let shalom = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Shalom {{ firstName }} 🙏", "memberIds": [ids[0]]}),
        )
        .await;
    let receipt: Value = shalom.json().await.unwrap();
    assert_eq!(receipt["encoding"], "UCS-2");
    let requests = app.telnyx.wait_for_requests(3).await;
    let first = names[&ids[0]].split_whitespace().next().unwrap().to_owned();
    assert!(
        requests
            .iter()
            .any(|r| r.body["text"] == format!("Shalom {first} 🙏"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_field_or_a_text_past_ten_segments_is_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let unknown = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Hi {{ lastName }}", "allMembers": true}),
        )
        .await;
    let (status, code, message) = refused(unknown).await;
    assert_eq!((status, code.as_str()), (422, "unknown_merge_field"));
    assert!(message.contains("lastName"), "{message}");
    let broken = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Hi {{ firstName", "allMembers": true}),
        )
        .await;
    assert_eq!(refused(broken).await.1, "invalid_template");

    // 1,410 characters are ten segments as written; a member with a long name makes it eleven.
    let member = app.grace.member_ids[0];
    let renamed = app
        .patch_json(
            &format!("/api/members/{member}"),
            &staff,
            &json!({"name": format!("Bartholomew {}", "x".repeat(180))}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let long = format!("{{{{ name }}}}{}", "a".repeat(1400));
    let too_long = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": long, "memberIds": [member]}),
        )
        .await;
    let (status, code, _) = refused(too_long).await;
    assert_eq!((status, code.as_str()), (422, "too_long"));
    let repeat = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "{{ \"x\" * 99999999 }}", "allMembers": true}),
        )
        .await;
    assert_eq!(
        refused(repeat).await.1,
        "invalid_template",
        "no string arithmetic"
    );
    // Eleven segments of UCS-2 without any field.
    let polish = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "ł".repeat(700), "allMembers": true}),
        )
        .await;
    assert_eq!(refused(polish).await.1, "too_long");

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(app.telnyx.requests().is_empty());
    let history = app.get_json("/api/messages", &staff).await;
    assert!(
        history["messages"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_renders_for_one_member_and_sends_nothing() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let names = names(&app, &staff).await;
    let member = app.grace.member_ids[1];
    let preview = app
        .post_json(
            "/api/messages/preview",
            Some(&staff),
            &json!({"body": "{{ church }}: hello {{ name }}", "memberId": member}),
        )
        .await;
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    let body = preview["body"].as_str().unwrap();
    assert!(
        body.ends_with(&format!(": hello {}", names[&member])),
        "{body}"
    );
    assert!(
        !body.starts_with(':'),
        "the church's name is filled in: {body}"
    );
    assert_eq!(preview["memberId"], member);
    assert_eq!(preview["encoding"], "GSM-7");
    assert_eq!(preview["tooLong"], false);

    let theirs = app
        .post_json(
            "/api/messages/preview",
            Some(&staff),
            &json!({"body": "Hi {{ name }}", "memberId": app.other.member_ids[0]}),
        )
        .await;
    assert_eq!(theirs.status(), 404, "another church's member");
    let unknown = app
        .post_json(
            "/api/messages/preview",
            Some(&staff),
            &json!({"body": "Hi {{ nickname }}"}),
        )
        .await;
    assert_eq!(refused(unknown).await.1, "unknown_merge_field");
    assert!(app.telnyx.requests().is_empty());
}
