//! Groups from the console in Chromium: staff make a group on the Groups page, tick a member
//! into it, see it on the Members page, and send a message to the group from the Messages page.

use serde_json::Value;

use super::console::Browser;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn staff_make_a_group_fill_it_and_send_to_it_from_the_console() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let member = app.grace.member_ids[1];
    let members = app.get_json("/api/members", &staff).await;
    let found: &Value = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == member)
        .unwrap();
    let (name, phone) = (
        found["name"].as_str().unwrap().to_owned(),
        found["phone"].as_str().unwrap().to_owned(),
    );

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Groups").await;
    browser.fill("Group name", "Choir").await;
    browser.press("Add group").await;
    browser.press("Members of Choir").await;
    browser
        .by_role("checkbox", &format!("{name} ({phone})"))
        .await
        .click()
        .await
        .unwrap();
    let mut groups = Value::Null;
    for _ in 0..100 {
        groups = app.get_json("/api/groups", &staff).await;
        if groups["groups"][0]["memberCount"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(groups["groups"][0]["name"], "Choir");
    assert_eq!(
        groups["groups"][0]["memberCount"], 1,
        "ticked into the group"
    );

    browser.follow("Members").await;
    browser
        .client
        .wait()
        .for_element(fantoccini::Locator::XPath(&format!(
            "//tr[td[normalize-space()='{phone}']]/td[normalize-space()='Choir']"
        )))
        .await
        .unwrap();

    browser.follow("Messages").await;
    browser
        .by_role("radio", "Groups")
        .await
        .click()
        .await
        .unwrap();
    browser
        .by_role("checkbox", "Choir (1 member)")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("Message", "Choir practice at 7").await;
    browser.press("Send").await;
    let sent = app.telnyx.wait_for_requests(1).await;
    assert_eq!(sent[0].body["to"], phone.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.telnyx.requests().len(), 1, "the group only");
}
