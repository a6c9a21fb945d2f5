//! Groups: made, renamed, filled and emptied by staff; shown on their members; a send to
//! groups and members reaches each phone once and reports who was skipped; a CSV's `groups`
//! column puts new members in groups; another church's groups are out of reach.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};

async fn create_group(app: &TestApp, token: &str, name: &str) -> i64 {
    let response = app
        .post_json("/api/groups", Some(token), &json!({"name": name}))
        .await;
    assert_eq!(response.status(), 201, "create {name}");
    let group: Value = response.json().await.unwrap();
    assert_eq!(group["name"], name);
    assert_eq!(group["memberCount"], 0);
    group["id"].as_i64().unwrap()
}

async fn add(app: &TestApp, token: &str, group: i64, members: &[i64]) -> reqwest::Response {
    app.post_json(
        &format!("/api/groups/{group}/members"),
        Some(token),
        &json!({"memberIds": members}),
    )
    .await
}

/// Each group's name and member count, as the list shows them.
async fn counts(app: &TestApp, token: &str) -> Vec<(String, i64)> {
    let list = app.get_json("/api/groups", token).await;
    list["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["memberCount"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn named(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
    expected.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .delete(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Posts a CSV to the members import.
async fn import(app: &TestApp, token: &str, csv: &str) -> Value {
    let response = app
        .http
        .post(format!("{}/api/members/import", app.url))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_make_groups_fill_them_and_members_show_their_groups() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let [a, b, c] = app.grace.member_ids[..3] else {
        panic!("three members")
    };
    let choir = create_group(&app, &staff, "Choir").await;
    let youth = create_group(&app, &staff, "Youth").await;

    let taken = app
        .post_json("/api/groups", Some(&staff), &json!({"name": " choir "}))
        .await;
    assert_eq!(taken.status(), 409, "names are unique whatever their case");
    assert_eq!(error_code(taken).await, "name_taken");
    let blank = app
        .post_json("/api/groups", Some(&staff), &json!({"name": "  "}))
        .await;
    assert_eq!(blank.status(), 400);

    let filled = add(&app, &staff, choir, &[a, b]).await;
    assert_eq!(filled.status(), 200);
    let filled: Value = filled.json().await.unwrap();
    assert_eq!(filled["memberCount"], 2);
    // Adding someone already in it changes nothing.
    let again: Value = add(&app, &staff, choir, &[b]).await.json().await.unwrap();
    assert_eq!(again["memberCount"], 2);
    assert_eq!(add(&app, &staff, youth, &[b, c]).await.status(), 200);

    let members = app.get_json("/api/members", &staff).await;
    let groups_of = |id: i64| -> Vec<String> {
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(groups_of(a), ["Choir"]);
    assert_eq!(groups_of(b), ["Choir", "Youth"]);

    let renamed = app
        .patch_json(
            &format!("/api/groups/{youth}"),
            &staff,
            &json!({"name": "Youth group"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let detail = app.get_json(&format!("/api/groups/{youth}"), &staff).await;
    assert_eq!(detail["name"], "Youth group");
    assert_eq!(detail["memberIds"], json!([b, c]));

    let out = delete(&app, &staff, &format!("/api/groups/{choir}/members/{a}")).await;
    assert_eq!(out.status(), 204);
    assert_eq!(
        counts(&app, &staff).await,
        named(&[("Choir", 1), ("Youth group", 2)])
    );

    let deleted = delete(&app, &staff, &format!("/api/groups/{choir}")).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.get(&format!("/api/groups/{choir}"), &staff)
            .await
            .status(),
        404,
        "a deleted group is gone"
    );
    let members_after = app.get_json("/api/members", &staff).await;
    assert_eq!(
        members_after["members"].as_array().unwrap().len(),
        app.grace.member_ids.len(),
        "deleting a group removes no member"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_to_groups_and_members_reaches_each_phone_once_and_reports_the_opted_out() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let ids = app.grace.member_ids.clone();
    let choir = create_group(&app, &staff, "Choir").await;
    let youth = create_group(&app, &staff, "Youth").await;
    assert_eq!(add(&app, &staff, choir, &ids[..2]).await.status(), 200);
    assert_eq!(add(&app, &staff, youth, &ids[1..3]).await.status(), 200);
    // The third member opts out.
    let phone = app.phone_of(&staff, ids[2]).await;
    let stop = super::fake_telnyx::FakeTelnyx::inbound("evt-stop-groups", &phone, "STOP");
    assert_eq!(app.telnyx.post_webhook(&app.url, &stop).await.status(), 200);

    let sent = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "Rehearsal at 7", "groupIds": [choir, youth], "memberIds": [ids[0]]}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let receipt: Value = sent.json().await.unwrap();
    assert_eq!(receipt["recipientCount"], 2, "members 1 and 2, once each");
    assert_eq!(
        receipt["skipped"],
        json!([{"memberId": ids[2], "reason": "opted_out"}])
    );
    let requests = app.telnyx.wait_for_requests(2).await;
    let phones: HashSet<String> = requests
        .iter()
        .map(|r| r.body["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(phones.len(), 2);

    let unknown = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "x", "groupIds": [choir, 999_999]}),
        )
        .await;
    assert_eq!(unknown.status(), 422);
    assert_eq!(error_code(unknown).await, "unknown_groups");
    let empty = create_group(&app, &staff, "Empty").await;
    let nobody = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "x", "groupIds": [empty]}),
        )
        .await;
    assert_eq!(nobody.status(), 422);
    assert_eq!(error_code(nobody).await, "no_recipients");
    let both = app
        .post_json(
            "/api/messages",
            Some(&staff),
            &json!({"body": "x", "groupIds": [choir], "allMembers": true}),
        )
        .await;
    assert_eq!(both.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_churchs_groups_are_out_of_reach() {
    let app = spawn_app().await;
    let grace = app.login(&app.grace.staff_email).await;
    let other = app.login(&app.other.staff_email).await;
    let choir = create_group(&app, &grace, "Choir").await;
    assert_eq!(
        app.get(&format!("/api/groups/{choir}"), &other)
            .await
            .status(),
        404
    );
    let renamed = app
        .patch_json(
            &format!("/api/groups/{choir}"),
            &other,
            &json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(renamed.status(), 404);
    assert_eq!(
        add(&app, &other, choir, &app.other.member_ids[..1])
            .await
            .status(),
        404
    );
    // Nor can another church's member be put in one's own group.
    let theirs = add(&app, &grace, choir, &app.other.member_ids[..1]).await;
    assert_eq!(theirs.status(), 422);
    let send = app
        .post_json(
            "/api/messages",
            Some(&other),
            &json!({"body": "x", "groupIds": [choir]}),
        )
        .await;
    assert_eq!(send.status(), 422, "not their group");
    let deleted = delete(&app, &other, &format!("/api/groups/{choir}")).await;
    assert_eq!(deleted.status(), 404);
    assert!(
        app.get_json("/api/groups", &other).await["groups"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get_json("/api/groups", &grace).await["groups"][0]["id"],
        choir
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_groups_column_puts_new_members_in_groups() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    create_group(&app, &staff, "Choir").await;
    let csv = "name,phone,groups\n\
               Ada Lovelace,+442071838750,choir;Bell ringers\n\
               Ben Okri,+442071838751,\n\
               Cy Twombly,+442071838752,Bell ringers\n";
    let result = import(&app, &staff, csv).await;
    assert_eq!(result["created"], 3);
    // "choir" joined the existing Choir; "Bell ringers" was made.
    assert_eq!(
        counts(&app, &staff).await,
        named(&[("Bell ringers", 2), ("Choir", 1)])
    );

    // A list of people already members puts them in its groups and adds nobody.
    let again = "Ada Lovelace,+442071838750,Youth\nBen Okri,+442071838751,Choir\n";
    let result = import(&app, &staff, again).await;
    assert_eq!(result["created"], 0);
    assert_eq!(result["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(
        counts(&app, &staff).await,
        named(&[("Bell ringers", 2), ("Choir", 2), ("Youth", 1)])
    );
}
