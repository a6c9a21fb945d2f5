//! Quiet hours from the console in Chromium: an admin sets the church's time zone and quiet
//! hours on the Settings page and sees that it is quiet now; a message sent from the page then
//! says it is held for quiet hours, and nothing goes to the carrier.

use chrono::{TimeDelta, Utc};
use chrono_tz::America::Chicago;
use fantoccini::Locator;
use serde_json::Value;

use super::console::Browser;
use super::helpers::spawn_app;

/// Sets the value of the control labelled `label` (time and list inputs have no textbox role).
async fn set_labelled(browser: &Browser, label: &str, value: &str) {
    let label = browser
        .client
        .find(Locator::XPath(&format!(
            "//label[normalize-space()='{label}']"
        )))
        .await
        .unwrap();
    let id = label.attr("for").await.unwrap().unwrap();
    let control = browser.client.find(Locator::Id(&id)).await.unwrap();
    browser
        .client
        .execute(
            "arguments[0].value = arguments[1];",
            vec![
                serde_json::to_value(&control).unwrap(),
                Value::String(value.to_owned()),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sets_quiet_hours_on_the_settings_page_and_a_send_waits_for_their_end() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.admin_email).await;
    browser.follow("Settings").await;
    let hhmm = |delta: TimeDelta| {
        (Utc::now() + delta)
            .with_timezone(&Chicago)
            .format("%H:%M")
            .to_string()
    };
    // The card fills itself from the server first; wait for that before changing it.
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//p[@id='quiet-window'][starts-with(., 'Quiet hours are off')]",
        ))
        .await
        .unwrap();
    set_labelled(&browser, "Time zone", "America/Chicago").await;
    set_labelled(&browser, "Quiet from", &hhmm(-TimeDelta::hours(1))).await;
    set_labelled(&browser, "Quiet until", &hhmm(TimeDelta::hours(1))).await;
    browser
        .by_role("checkbox", "Quiet hours on")
        .await
        .click()
        .await
        .unwrap();
    browser.press("Save quiet hours").await;
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//p[@id='quiet-window'][starts-with(., 'Quiet now, until')]",
        ))
        .await
        .unwrap();
    let church = app.get_json("/api/admin/church", &admin).await;
    assert_eq!(church["timezone"], "America/Chicago");
    assert_eq!(church["quietHours"]["enabled"], true);
    assert_eq!(church["quietHours"]["end"], hhmm(TimeDelta::hours(1)));

    browser.follow("Messages").await;
    browser.fill("Message", "Prayer meeting tomorrow").await;
    browser.press("Send").await;
    let mut id = None;
    for _ in 0..200 {
        let waiting = app.get_json("/api/messages?status=scheduled", &admin).await;
        id = waiting["messages"][0]["id"].as_i64();
        if id.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id = id.expect("the page's send was held");
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//article[@aria-label='Message {id}']//div[@class='meta']\
             [starts-with(., 'Held for quiet hours until')]"
        )))
        .await
        .unwrap();
    assert!(
        app.telnyx.requests().is_empty(),
        "nothing went in quiet hours"
    );
}
