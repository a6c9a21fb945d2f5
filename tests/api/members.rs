use serde_json::{Value, json};

use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn members_are_created_with_e164_phones_and_listed_per_church() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;

    let created = app
        .post_json(
            "/api/members",
            Some(&token),
            &json!({"name": "Ruth Abara", "phone": "+442071838750"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let member: Value = created.json().await.unwrap();
    assert_eq!(member["phone"], "+442071838750");

    let bad = app
        .post_json(
            "/api/members",
            Some(&token),
            &json!({"name": "Ruth", "phone": "020 7183 8750"}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "invalid_phone");

    let duplicate = app
        .post_json(
            "/api/members",
            Some(&token),
            &json!({"name": "Ruth again", "phone": "+442071838750"}),
        )
        .await;
    assert_eq!(duplicate.status(), 409);

    let list = app.get_json("/api/members", &token).await;
    let phones: Vec<&str> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones.len(), 4);
    assert!(phones.contains(&"+442071838750"));

    let other_token = app.login(&app.other.staff_email).await;
    let other = app.get_json("/api/members", &other_token).await;
    assert_eq!(other["members"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_edit_and_remove_members_and_a_removed_member_receives_nothing() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let [first, second, third] = app.grace.member_ids[..] else {
        panic!("three members")
    };
    let patch = |id: i64, body: Value| {
        let request = app
            .http
            .patch(format!("{}/api/members/{id}", app.url))
            .bearer_auth(&token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let delete = |id: i64, token: &str| {
        let request = app
            .http
            .delete(format!("{}/api/members/{id}", app.url))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };

    let before = app.get_json("/api/members", &token).await;
    let second_phone = before["members"][1]["phone"].as_str().unwrap().to_owned();
    assert_eq!(before["members"][1]["id"], second);

    let edited = patch(
        first,
        json!({"name": "Ruth Adams", "phone": "+442071838751"}),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(
        (&edited["name"], &edited["phone"]),
        (&json!("Ruth Adams"), &json!("+442071838751"))
    );
    // Nothing to change is the member as they are, not a failed UPDATE.
    for unchanged in [json!({}), json!({"name": null, "phone": null})] {
        let same = patch(first, unchanged).await;
        assert_eq!(same.status(), 200);
        assert_eq!(same.json::<Value>().await.unwrap()["name"], "Ruth Adams");
    }
    let taken = patch(second, json!({"phone": "+442071838751"})).await;
    assert_eq!(taken.status(), 409);
    for (body, code) in [
        (json!({"phone": "07183"}), "invalid_phone"),
        (json!({"name": ""}), "invalid_name"),
        (json!({"nickname": "R"}), "invalid_json"),
    ] {
        let refused = patch(second, body).await;
        assert_eq!(refused.status(), 400);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"]["code"], code);
    }
    // Another church's staff cannot touch them.
    let other = app.login(&app.other.staff_email).await;
    assert_eq!(delete(second, &other).await.status(), 404);

    assert_eq!(delete(second, &token).await.status(), 204);
    assert_eq!(
        delete(second, &token).await.status(),
        404,
        "removed already"
    );
    let list = app.get_json("/api/members", &token).await;
    let ids: Vec<i64> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first, third]);
    // Everyone now means the two left; naming the removed one is refused.
    let all = app
        .post_json(
            "/api/messages",
            Some(&token),
            &json!({"body": "hi", "allMembers": true}),
        )
        .await;
    assert_eq!(all.status(), 202);
    assert_eq!(all.json::<Value>().await.unwrap()["recipientCount"], 2);
    let named = app
        .post_json(
            "/api/messages",
            Some(&token),
            &json!({"body": "hi", "memberIds": [second]}),
        )
        .await;
    assert_eq!(named.status(), 422, "not a member any more");
    // Their number can be added again, as a new member.
    let again = app
        .post_json(
            "/api/members",
            Some(&token),
            &json!({"name": "Back", "phone": second_phone}),
        )
        .await;
    assert_eq!(again.status(), 201);
    assert_ne!(again.json::<Value>().await.unwrap()["id"], second);
}

async fn import(app: &super::helpers::TestApp, token: &str, csv: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/members/import", app.url))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_import_adds_good_rows_and_names_each_skipped_row_and_why() {
    let app = spawn_app().await;
    let grace = app.login(&app.grace.staff_email).await;
    let other = app.login(&app.other.staff_email).await;
    let existing = app.get_json("/api/members", &grace).await["members"][0]["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_phone = app.get_json("/api/members", &other).await["members"][0]["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = format!(
        "Name,Phone\n\
         \"Lovelace, Ada\",+442071838750\n\
         Already Here,{existing}\n\
         Wrong Number,555-0100\n\
         Twice,+442071838750\n\
         From Other Church,{other_phone}\n"
    );
    let response = import(&app, &grace, &csv).await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["created"], 2, "{result}");
    let skipped: Vec<(i64, String)> = result["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["row"].as_i64().unwrap(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(skipped.iter().map(|s| s.0).collect::<Vec<_>>(), [3, 4, 5]);
    assert!(skipped[0].1.contains("already exists"), "{skipped:?}");
    assert!(skipped[1].1.starts_with("phone:"), "{skipped:?}");
    assert!(skipped[2].1.contains("already in row 2"), "{skipped:?}");

    // The rows were added to this church only; a phone of another church's member is a
    // new member here, and that church is untouched.
    let names: Vec<String> = app.get_json("/api/members", &grace).await["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"Lovelace, Ada".to_owned()));
    assert!(names.contains(&"From Other Church".to_owned()));
    assert_eq!(names.len(), app.grace.member_ids.len() + 2);
    let others = app.get_json("/api/members", &other).await["members"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(others, app.other.member_ids.len());

    // The same file again adds nothing and says why for every row.
    let again: Value = import(&app, &grace, &csv).await.json().await.unwrap();
    assert_eq!(again["created"], 0);
    assert_eq!(again["skipped"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_needs_a_csv_body_and_a_token() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let response = app
        .post_json(
            "/api/members/import",
            Some(&token),
            &json!({"name": "A", "phone": "+442071838750"}),
        )
        .await;
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text/csv")
    );

    let response = app
        .http
        .post(format!("{}/api/members/import", app.url))
        .header("content-type", "text/csv")
        .body("A,+442071838750\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Garbage is a list of skipped rows, never a 500.
    let garbage: Value = import(&app, &token, "\u{0}\u{1},,,\n\"unterminated")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(garbage["created"], 0);
    assert!(!garbage["skipped"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_is_told_which_routes_take_a_church_id() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    // Church staff's own routes: no church to name.
    let response = app.get("/api/members", &operator).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains("churchId"), "{message}");
    // Admin views: name one.
    let response = app.get("/api/admin/sending", &operator).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("?churchId="),
        "{body}"
    );
    let named = app
        .get(
            &format!("/api/admin/sending?churchId={}", app.grace.id),
            &operator,
        )
        .await;
    assert_eq!(named.status(), 200);
}
