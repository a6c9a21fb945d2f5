//! The Notifications page in Chromium: the unread badge beside the link follows the socket on
//! any page, the inbox reads, archives, searches and reads all, and an admin sends one to the
//! church's staff from the form.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use super::console::Browser;
use super::helpers::{TestApp, spawn_app};

async fn announce(app: &TestApp, token: &str, title: &str, body: &str) {
    let sent = app
        .post_json(
            "/api/admin/notifications",
            Some(token),
            &json!({"audience": {"role": "staff"}, "title": title, "body": body}),
        )
        .await;
    assert_eq!(sent.status(), 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_see_the_badge_move_live_and_work_through_their_inbox() {
    let app = spawn_app().await;
    let admin = app.login(&app.grace.admin_email).await;
    let staff = app.login(&app.grace.staff_email).await;
    announce(&app, &admin, "Choir practice moved", "Thursday at 7pm").await;
    announce(&app, &admin, "Potluck on Sunday", "Bring a dish to share").await;

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    // On the Messages page, the badge counts what came before, then what comes live.
    browser.by_role("status", "2 unread notifications").await;
    announce(
        &app,
        &admin,
        "Roof repair fund",
        "We reached 80% of the goal",
    )
    .await;
    browser.by_role("status", "3 unread notifications").await;

    browser.follow("Notifications").await;
    for title in [
        "Roof repair fund",
        "Potluck on Sunday",
        "Choir practice moved",
    ] {
        browser
            .by_role("button", &format!("Mark “{title}” read"))
            .await;
    }
    browser
        .by_role("button", "Mark “Choir practice moved” read")
        .await
        .click()
        .await
        .unwrap();
    browser.by_role("status", "2 unread notifications").await;
    browser
        .by_role("button", "Mark “Choir practice moved” unread")
        .await;
    browser
        .by_role("button", "Archive “Roof repair fund”")
        .await
        .click()
        .await
        .unwrap();
    browser.by_role("status", "1 unread notifications").await;
    wait_gone(&browser, "Archive “Roof repair fund”").await;

    // A search narrows the list.
    browser
        .by_role("searchbox", "Search notifications")
        .await
        .send_keys("dish")
        .await
        .unwrap();
    browser.press("Search").await;
    wait_gone(&browser, "Archive “Choir practice moved”").await;
    browser
        .by_role("button", "Archive “Potluck on Sunday”")
        .await;

    // Read everything: the badge goes; the API agrees.
    browser.press("Mark all read").await;
    let badge = browser
        .client
        .find(Locator::Css("nav .badge"))
        .await
        .unwrap();
    browser
        .wait_attr(&badge, "aria-label", Duration::from_secs(10), |label| {
            label == "0 unread notifications"
        })
        .await;
    assert_eq!(badge.attr("hidden").await.unwrap().as_deref(), Some("true"));
    let counts = app.get_json("/api/notifications/counts", &staff).await;
    assert_eq!(counts["unread"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sends_a_notification_to_the_churchs_staff_from_the_form() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.admin_email).await;
    browser.follow("Notifications").await;
    let to = browser.by_role("combobox", "To").await;
    to.select_by_value("staff").await.unwrap();
    let priority = browser.by_role("combobox", "Priority").await;
    priority.select_by_value("high").await.unwrap();
    browser.fill("Title", "Staff meeting").await;
    browser
        .fill("Notification text", "Tuesday at 9 in the office")
        .await;
    browser.press("Send notification").await;
    let status = browser.client.find(Locator::Css("#status")).await.unwrap();
    browser
        .wait_text(&status, "Sent to 1 person", Duration::from_secs(10))
        .await;
    // The socket's progress fills the form's bar.
    let progress = browser
        .client
        .find(Locator::XPath(
            "//form[@aria-labelledby='send-h']//p[@role='status']",
        ))
        .await
        .unwrap();
    browser
        .wait_text(&progress, "Sent: 1 of 1 have it", Duration::from_secs(10))
        .await;
    let bar = browser
        .client
        .find(Locator::Css("progress[aria-label='Send progress']"))
        .await
        .unwrap();
    assert_eq!(bar.attr("value").await.unwrap().as_deref(), Some("1"));
    let inbox = app.get_json("/api/notifications", &staff).await;
    assert_eq!(inbox["notifications"][0]["title"], "Staff meeting");
    assert_eq!(
        inbox["notifications"][0]["body"],
        "Tuesday at 9 in the office"
    );
    // The admin, not in the audience, has nothing.
    let admin = app.login(&app.grace.admin_email).await;
    assert_eq!(
        app.get_json("/api/notifications/counts", &admin).await["unread"],
        0
    );

    // The staff member has no socket open, so a high one is emailed at once; with no SMTP
    // server the sandbox keeps it, and the admin reads it on the page.
    let mail = browser.client.find(Locator::Css("ul.mail")).await.unwrap();
    let mut listed = String::new();
    for _ in 0..50 {
        browser.press("Refresh mail").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        listed = mail.text().await.unwrap();
        if listed.contains("Staff meeting") {
            break;
        }
    }
    assert!(
        listed.contains(&format!("Staff meeting to {}", app.grace.staff_email)),
        "{listed:?}"
    );

    // The stats count it: one notification, delivered in the app and emailed because unseen.
    let summary = browser
        .client
        .find(Locator::Css("#stats-summary"))
        .await
        .unwrap();
    let mut said = String::new();
    for _ in 0..50 {
        browser.press("Refresh stats").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        said = summary.text().await.unwrap();
        if said.contains("1 emailed because unseen") {
            break;
        }
    }
    assert!(
        said.starts_with("1 notifications, 0% read, median time to read none read yet; 1 emailed"),
        "{said:?}"
    );
    let email_row = browser
        .client
        .find(Locator::XPath("//th[text()='Email']/parent::tr"))
        .await
        .unwrap();
    // Waiting, held, sent: one sent.
    assert!(
        email_row.text().await.unwrap().starts_with("Email 0 0 1"),
        "{:?}",
        email_row.text().await
    );
}

/// Waits until no button is named `name`.
async fn wait_gone(browser: &Browser, name: &str) {
    for _ in 0..100 {
        let mut found = false;
        for button in browser
            .client
            .find_all(Locator::Css("button"))
            .await
            .unwrap_or_default()
        {
            if browser.computed(&button, "computedlabel").await.as_deref() == Ok(name) {
                found = true;
            }
        }
        if !found {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the button {name:?} stayed");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_choose_channels_quiet_hours_and_their_number_on_the_page() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Notifications").await;
    let in_app = browser
        .by_role("checkbox", "Announcements in the app")
        .await;
    // The page fills the form in from the server first.
    for _ in 0..100 {
        if in_app.prop("checked").await.unwrap().as_deref() == Some("true") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        in_app.prop("checked").await.unwrap().as_deref(),
        Some("true")
    );
    in_app.click().await.unwrap();
    browser
        .by_role("checkbox", "Finished broadcasts by email")
        .await
        .click()
        .await
        .unwrap();
    browser
        .by_role("checkbox", "My quiet hours on")
        .await
        .click()
        .await
        .unwrap();
    browser
        .by_role("checkbox", "Saturday")
        .await
        .click()
        .await
        .unwrap();
    let zone = browser.by_role("combobox", "Your time zone").await;
    zone.clear().await.unwrap();
    zone.send_keys("Europe/London").await.unwrap();
    browser
        .fill("Your mobile number (for SMS)", "+12025550142")
        .await;
    browser.press("Save preferences").await;
    let status = browser.client.find(Locator::Css("#status")).await.unwrap();
    browser
        .wait_text(
            &status,
            "Your preferences are saved.",
            Duration::from_secs(10),
        )
        .await;
    let saved = app.get_json("/api/notifications/preferences", &staff).await;
    assert_eq!(saved["timezone"], "Europe/London");
    assert_eq!(saved["categories"]["announcement"]["in_app"], false);
    assert_eq!(saved["categories"]["delivery"]["email"], true);
    assert_eq!(saved["quietHours"]["enabled"], true);
    assert_eq!(
        saved["quietHours"]["days"],
        json!(["mon", "tue", "wed", "thu", "fri", "sun"])
    );
    let me = app.get_json("/api/me", &staff).await;
    assert_eq!(me["phone"], "+12025550142");

    // A wrong zone is named on the page, and nothing is stored.
    zone.clear().await.unwrap();
    zone.send_keys("Atlantis/Capital").await.unwrap();
    browser.press("Save preferences").await;
    let alert = browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//form[@aria-labelledby='prefs-h']//p[@role='alert' and contains(., 'timezone')]",
        ))
        .await
        .unwrap();
    assert!(alert.text().await.unwrap().contains("Atlantis/Capital"));
    let kept = app.get_json("/api/notifications/preferences", &staff).await;
    assert_eq!(kept["timezone"], "Europe/London");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_writes_a_template_previews_it_and_sends_with_it() {
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.admin_email).await;
    browser.follow("Notifications").await;
    browser.fill("Template name", "choir").await;
    browser.fill("App title", "Choir at {{ time }}").await;
    browser.fill("App text", "Meet in the {{ room }}.").await;
    browser.fill("Email subject", "Choir: {{ time }}").await;
    browser
        .fill("Email text", "We meet in the {{ room }} at {{ time }}.")
        .await;
    browser.press("Save template").await;
    let status = browser.client.find(Locator::Css("#status")).await.unwrap();
    browser
        .wait_text(&status, "Saved choir, version 1", Duration::from_secs(10))
        .await;

    // A preview without every variable names the missing one; with them, shows the email.
    browser
        .fill("Preview variables (JSON)", r#"{"time": "7pm"}"#)
        .await;
    browser.press("Preview template").await;
    let alert = browser
        .client
        .find(Locator::XPath(
            "//h2[@id='templates-h']/parent::form//p[@role='alert']",
        ))
        .await
        .unwrap();
    browser
        .wait_text(
            &alert,
            "inApp.body uses the variable \"room\", which was not given",
            Duration::from_secs(10),
        )
        .await;
    browser
        .by_role("textbox", "Preview variables (JSON)")
        .await
        .clear()
        .await
        .unwrap();
    browser
        .fill(
            "Preview variables (JSON)",
            r#"{"time": "7pm", "room": "vestry"}"#,
        )
        .await;
    browser.press("Preview template").await;
    let shown = browser
        .client
        .find(Locator::Css("#template-preview"))
        .await
        .unwrap();
    browser
        .wait_text(
            &shown,
            "App\nChoir at 7pm: Meet in the vestry.\nEmail subject\nChoir: 7pm\nEmail text\nWe meet in the vestry at 7pm.",
            Duration::from_secs(10),
        )
        .await;

    // The send form offers it.
    let to = browser.by_role("combobox", "To").await;
    to.select_by_value("staff").await.unwrap();
    let template = browser.by_role("combobox", "Use template").await;
    for _ in 0..50 {
        if template.select_by_value("choir").await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .fill(
            "Template variables (JSON)",
            r#"{"time": "7pm", "room": "vestry"}"#,
        )
        .await;
    browser.press("Send notification").await;
    browser
        .wait_text(&status, "Sent to 1 person", Duration::from_secs(10))
        .await;
    let inbox = app.get_json("/api/notifications", &staff).await;
    assert_eq!(inbox["notifications"][0]["title"], "Choir at 7pm");
    assert_eq!(inbox["notifications"][0]["data"]["templateVersion"], 1);
}
