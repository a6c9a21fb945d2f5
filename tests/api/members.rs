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
