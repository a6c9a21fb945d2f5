//! The console's Conversations page in Chromium: a text arrives live in the list with its
//! unread count, opening it shows the thread and reads it, and a reply goes to the phone.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use super::console::Browser;
use super::fake_telnyx::FakeTelnyx;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn staff_see_a_text_arrive_open_the_thread_and_reply() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let members = app.get_json("/api/members", &staff).await;
    let phone = members["members"][0]["phone"].as_str().unwrap().to_owned();
    let name = members["members"][0]["name"].as_str().unwrap().to_owned();

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Conversations").await;
    browser
        .client
        .wait()
        .for_element(Locator::XPath("//li[normalize-space()='No texts yet.']"))
        .await
        .unwrap();

    // The text arrives while the page is open.
    let text = FakeTelnyx::inbound("in-c1", &phone, "Can I bring a friend?");
    let response = app.telnyx.post_webhook(&app.url, &text).await;
    assert_eq!(response.status(), 200);
    let entry = browser
        .by_role("button", &format!("{name} ({phone}), 1 unread"))
        .await;
    entry.click().await.unwrap();
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ol[@aria-labelledby='thread-h']/li[contains(., 'Can I bring a friend?')]",
        ))
        .await
        .unwrap();
    // Opening it read it, for everyone.
    let mut unread = Value::Null;
    for _ in 0..100 {
        unread = app.get_json("/api/conversations", &staff).await["unreadTotal"].clone();
        if unread == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unread, 0);

    browser.fill("Reply", "Of course, bring them along").await;
    browser.press("Send reply").await;
    let sent = app.telnyx.wait_for_requests(1).await.pop().unwrap();
    assert_eq!(sent.body["to"], phone.as_str());
    assert_eq!(sent.body["text"], "Of course, bring them along");
    // The reply joins the thread, live.
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ol[@aria-labelledby='thread-h']/li[contains(@class, 'outbound')][contains(., 'Of course, bring them along')]",
        ))
        .await
        .unwrap();
}
