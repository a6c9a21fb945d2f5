//! Scheduling from the console in Chromium: a message with a "Send at" time is listed as
//! scheduled for it, and cancelling it there stops it.

use fantoccini::Locator;
use serde_json::Value;

use super::console::Browser;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn a_message_scheduled_from_the_page_waits_and_can_be_cancelled_there() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.fill("Message", "Christmas Eve service at 6").await;
    // The page's clock and this one are the machine's: an hour from now, as the picker takes it.
    let later = (chrono::Local::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    // A date and time field has no textbox role: found by its label's control.
    let label = browser
        .client
        .find(Locator::XPath("//label[normalize-space()='Send at']"))
        .await
        .unwrap();
    let id = label.attr("for").await.unwrap().unwrap();
    let picker = browser.client.find(Locator::Id(&id)).await.unwrap();
    browser
        .client
        .execute(
            "arguments[0].value = arguments[1];",
            vec![serde_json::to_value(&picker).unwrap(), Value::String(later)],
        )
        .await
        .unwrap();
    browser.press("Send").await;

    let mut id = None;
    for _ in 0..200 {
        let waiting = app.get_json("/api/messages?status=scheduled", &staff).await;
        id = waiting["messages"][0]["id"].as_i64();
        if id.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id = id.expect("the page scheduled a message");
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//article[@aria-label='Message {id}']//div[@class='meta'][starts-with(., 'Scheduled for')]"
        )))
        .await
        .unwrap();
    browser.press(&format!("Cancel message {id}")).await;
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get_json(&format!("/api/messages/{id}"), &staff).await["status"].clone();
        if status == "cancelled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "cancelled");
    assert!(app.telnyx.requests().is_empty(), "nothing was sent");
}
