//! The Analytics page in Chromium: staff see the period's totals, the delivery chart described
//! in words, the busy days in a table and the failures by code, and switch to weeks.

use fantoccini::Locator;

use super::analytics::{all_summarized, finished_message};
use super::console::Browser;
use super::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread")]
async fn staff_read_their_churchs_delivery_figures_by_day_and_by_week() {
    let app = spawn_app().await;
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let mut app = app;
    app.add_members(10).await;
    finished_message(
        &app,
        app.grace.id,
        &now.to_rfc3339(),
        None,
        8,
        &[("30003", 1), ("skipped", 1)],
        "completed",
    )
    .await;
    // Another church's figures are not shown.
    finished_message(
        &app,
        app.other.id,
        &now.to_rfc3339(),
        None,
        0,
        &[("40008", 1)],
        "failed",
    )
    .await;
    all_summarized(&app).await;

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Analytics").await;
    let today = now.date_naive().to_string();
    let chart = browser
        .by_role(
            "image",
            &format!(
                "Delivery From {} to {today} (UTC), by day: 8 of 10 delivered, 2 failed; the \
                 busiest day had 10 finished.",
                (now.date_naive() - chrono::Days::new(29))
            ),
        )
        .await;
    assert_eq!(
        chart.find_all(Locator::Css("rect")).await.unwrap().len(),
        60
    );
    let totals = browser
        .client
        .find(Locator::Css("dl.totals"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for figure in [
        "Recipients\n10",
        "Sent\n9",
        "Delivered\n8",
        "Failed\n2",
        "88.9 %",
    ] {
        assert!(totals.contains(figure), "{figure:?} in {totals:?}");
    }
    // The busy day's row, and the failures by code.
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//tr[td[1][normalize-space()='{today}'] and td[2][normalize-space()='10']]"
        )))
        .await
        .unwrap();
    for code in ["30003", "skipped"] {
        browser
            .client
            .wait()
            .for_element(Locator::XPath(&format!(
                "//tr[td[1][normalize-space()='{code}'] and td[2][normalize-space()='1']]"
            )))
            .await
            .unwrap();
    }
    assert!(
        browser
            .client
            .find_all(Locator::XPath("//td[normalize-space()='40008']"))
            .await
            .unwrap()
            .is_empty(),
        "another church's failures"
    );

    let interval = browser.by_role("combobox", "Interval").await;
    interval
        .select_by_value("week")
        .await
        .expect("a week option");
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//figcaption[contains(., 'by week: 8 of 10 delivered')]",
        ))
        .await
        .unwrap();

    // An operator belongs to no church: they choose one.
    app.operator().await;
    let operator = Browser::open().await;
    operator.sign_in(&app, "operator@platform.test").await;
    operator.follow("Analytics").await;
    operator
        .client
        .wait()
        .for_element(Locator::XPath(
            "//figcaption[normalize-space()='Choose a church to see its figures.']",
        ))
        .await
        .unwrap();
    operator
        .by_role("combobox", "Church")
        .await
        .select_by_value(&app.grace.id.to_string())
        .await
        .expect("Grace is listed");
    operator
        .client
        .wait()
        .for_element(Locator::XPath(
            "//figcaption[contains(., 'by day: 8 of 10 delivered, 2 failed')]",
        ))
        .await
        .unwrap();
}
