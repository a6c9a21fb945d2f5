//! Merge fields in the console in Chromium: writing `{{ firstName }}` shows what the church's
//! first member would receive, as the server fills it in, and an unknown field is named.

use fantoccini::Locator;

use super::console::Browser;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_box_previews_merge_fields_for_one_member() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let members = app.get_json("/api/members", &staff).await;
    let first = members["members"][0]["name"].as_str().unwrap();
    let first_name = first.split_whitespace().next().unwrap().to_owned();

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.fill("Message", "Hi {{ firstName }}!").await;
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//p[@id='merge-preview'][starts-with(., 'For one member: “Hi {first_name}!”')]"
        )))
        .await
        .unwrap();
    let message = browser.by_role("textbox", "Message").await;
    message.clear().await.unwrap();
    message.send_keys("Hi {{ nickname }}").await.unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//p[@id='merge-preview'][contains(., 'nickname')]",
        ))
        .await
        .unwrap();
    assert!(app.telnyx.requests().is_empty(), "a preview sends nothing");
}
