//! Notification templates over real HTTP: written, changed into new versions, previewed, each
//! church keeping its own; a send from a template records its version, and its email (to a
//! real SMTP server) says what the template's email part says, values escaped in the HTML.

use serde_json::{Value, json};

use super::helpers::TestApp;
use super::notification_email::mail_app;

fn rota(subject: &str) -> Value {
    json!({
        "name": "sunday-rota",
        "inApp": {"title": "Rota for {{ day }}", "body": "{{ who }} reads the lesson."},
        "email": {"subject": subject, "text": "Hello,\n{{ who }} reads on {{ day }}.",
            "html": "<p><b>{{ who }}</b> reads on {{ day }}.</p>"}
    })
}

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = app.post_json(path, Some(token), body).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_are_versioned_previewed_and_kept_to_their_church() {
    let (app, _smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;

    let (code, made) = post(
        &app,
        "/api/admin/templates",
        &admin,
        &rota("Rota: {{ day }}"),
    )
    .await;
    assert_eq!(code, 201, "{made}");
    assert_eq!(made["version"], 1);
    assert_eq!(made["category"], "announcement");
    let (code, again) = post(&app, "/api/admin/templates", &admin, &rota("x")).await;
    assert_eq!(
        (code, again["error"]["code"].as_str()),
        (409, Some("template_exists"))
    );

    let changed = app
        .http
        .put(format!("{}/api/admin/templates/sunday-rota", app.url))
        .bearer_auth(&admin)
        .json(&json!({
            "category": "announcement",
            "inApp": {"title": "Rota for {{ day }}", "body": "{{ who }} reads the lesson."},
            "email": {"subject": "Sunday rota: {{ day }}", "text": "{{ who }} reads on {{ day }}.",
                "html": "<p><b>{{ who }}</b> reads on {{ day }}.</p>"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.json::<Value>().await.unwrap()["version"], 2);
    let latest = app
        .get_json("/api/admin/templates/sunday-rota", &admin)
        .await;
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["email"]["subject"], "Sunday rota: {{ day }}");
    let listed = app.get_json("/api/admin/templates", &admin).await;
    assert_eq!(listed["templates"].as_array().unwrap().len(), 1);

    let (code, shown) = post(
        &app,
        "/api/admin/templates/sunday-rota/preview",
        &admin,
        &json!({"vars": {"day": "Sunday", "who": "Ann & <Bob>"}}),
    )
    .await;
    assert_eq!(code, 200, "{shown}");
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["inApp"]["title"], "Rota for Sunday");
    assert_eq!(shown["inApp"]["body"], "Ann & <Bob> reads the lesson.");
    assert_eq!(shown["email"]["subject"], "Sunday rota: Sunday");
    assert_eq!(
        shown["email"]["html"],
        "<p><b>Ann &amp; &lt;Bob&gt;</b> reads on Sunday.</p>"
    );
    let (code, missing) = post(
        &app,
        "/api/admin/templates/sunday-rota/preview",
        &admin,
        &json!({"vars": {"day": "Sunday"}}),
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(missing["error"]["code"], "missing_variable");
    assert_eq!(missing["error"]["details"]["variable"], "who");

    // Bad templates are named by their part; bad names refused; staff may not write them.
    let mut broken = rota("Rota");
    broken["name"] = json!("broken");
    broken["email"]["text"] = json!("{% if %}");
    let (code, bad) = post(&app, "/api/admin/templates", &admin, &broken).await;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("invalid_template"))
    );
    assert_eq!(bad["error"]["details"]["field"], "email.text");
    let mut misnamed = rota("Rota");
    misnamed["name"] = json!("Sunday Rota");
    let (code, bad) = post(&app, "/api/admin/templates", &admin, &misnamed).await;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("invalid_name"))
    );
    let staff = app.login(&app.grace.staff_email).await;
    assert_eq!(
        post(&app, "/api/admin/templates", &staff, &rota("x"))
            .await
            .0,
        403
    );

    // Another church sees none of it and cannot use it.
    let other = app.login(&app.other.admin_email).await;
    assert_eq!(
        app.get("/api/admin/templates/sunday-rota", &other)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get_json("/api/admin/templates", &other).await["templates"],
        json!([])
    );
    let (code, _) = post(
        &app,
        "/api/admin/templates/sunday-rota/preview",
        &other,
        &json!({"vars": {}}),
    )
    .await;
    assert_eq!(code, 404);
    let (code, refused) = post(
        &app,
        "/api/admin/notifications",
        &other,
        &json!({"audience": {"church": true}, "template": "sunday-rota",
            "vars": {"day": "x", "who": "y"}}),
    )
    .await;
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (422, Some("unknown_template"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_from_a_template_records_its_version_and_emails_what_it_says() {
    let (app, smtp) = mail_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    let staff_id = app.user_id(&staff);
    let (code, _) = post(
        &app,
        "/api/admin/templates",
        &admin,
        &rota("Rota: {{ day }}"),
    )
    .await;
    assert_eq!(code, 201);

    let send = |vars: Value| {
        json!({"audience": {"userIds": [staff_id]}, "priority": "high",
            "template": "sunday-rota", "vars": vars})
    };
    let (code, missing) = post(
        &app,
        "/api/admin/notifications",
        &admin,
        &send(json!({"day": "Sunday"})),
    )
    .await;
    assert_eq!(
        (code, missing["error"]["code"].as_str()),
        (422, Some("missing_variable"))
    );
    let (code, both) = post(
        &app,
        "/api/admin/notifications",
        &admin,
        &json!({"audience": {"church": true}, "title": "t", "body": "b",
            "template": "sunday-rota"}),
    )
    .await;
    assert_eq!(
        (code, both["error"]["code"].as_str()),
        (400, Some("invalid_content"))
    );

    let (code, sent) = post(
        &app,
        "/api/admin/notifications",
        &admin,
        &send(json!({"day": "Sunday", "who": "Ann & <Bob>"})),
    )
    .await;
    assert_eq!(code, 202, "{sent}");
    let inbox = app.get_json("/api/notifications", &staff).await;
    let note = &inbox["notifications"][0];
    assert_eq!(note["title"], "Rota for Sunday");
    assert_eq!(note["body"], "Ann & <Bob> reads the lesson.");
    assert_eq!(
        note["data"],
        json!({"template": "sunday-rota", "templateVersion": 1})
    );

    // The staff member is away: the template's email goes at once.
    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["subject"], "Rota: Sunday", "{mail:?}");
    // SMTP carries lines ending CRLF.
    let text = mail[0]["text"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(text.trim_end(), "Hello,\nAnn & <Bob> reads on Sunday.");
    assert_eq!(
        mail[0]["html"].as_str().unwrap().trim_end(),
        "<p><b>Ann &amp; &lt;Bob&gt;</b> reads on Sunday.</p>"
    );
}
