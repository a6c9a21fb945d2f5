//! The web console in headless Chromium, driven through chromedriver (WebDriver), finding
//! every control by its role and accessible name as the browser computes them, the way a
//! screen reader would: sign in, add a member and import a CSV, compose with the segment
//! counter, send to all members and watch the progress bar reach `M of M delivered` as the
//! sandbox carrier delivers.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium under chromedriver, both stopped when dropped.
pub struct Browser {
    pub client: Client,
    _driver: Child,
}

impl Drop for Browser {
    /// chromedriver runs in a process group of its own with the Chromium it starts: the whole
    /// group is killed, since killing chromedriver alone leaves Chromium's processes running
    /// (hundreds, over a test run, holding gigabytes).
    fn drop(&mut self) {
        if let Some(group) = self._driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Browser {
    pub async fn open() -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "these tests drive Debian's chromium through chromedriver: \
             apt-get install chromium chromium-driver (.ci/run does)"
        );
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        _driver: driver,
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last:?}");
    }

    /// The element whose computed role is `role` and accessible name is `name`, waiting for it
    /// to appear (at most 15 s).
    pub async fn by_role(&self, role: &str, name: &str) -> Element {
        let candidates = match role {
            "textbox" => {
                "input:not([type]), input[type=text], input[type=email], \
                          input[type=password], input[type=search], input[type=tel], textarea"
            }
            "button" => "button, input[type=submit]",
            "link" => "a",
            "radio" => "input[type=radio]",
            // A text input with a list of suggestions is a combobox too.
            "combobox" => "select, input[list]",
            "checkbox" => "input[type=checkbox]",
            "searchbox" => "input[type=search]",
            // Chromium computes `role="img"` as "image".
            "image" => "[role=img], img",
            other => return self.by_css_role(other, name).await,
        };
        self.find_named(candidates, role, name).await
    }

    async fn by_css_role(&self, role: &str, name: &str) -> Element {
        self.find_named(&format!("[role={role}]"), role, name).await
    }

    async fn find_named(&self, css: &str, role: &str, name: &str) -> Element {
        let mut seen = Vec::new();
        for _ in 0..150 {
            seen.clear();
            for element in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                let Ok(label) = self.computed(&element, "computedlabel").await else {
                    continue;
                };
                let Ok(computed_role) = self.computed(&element, "computedrole").await else {
                    continue;
                };
                if label == name && computed_role == role {
                    return element;
                }
                seen.push(format!("{computed_role} {label:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {role} named {name:?}; the page has {seen:?}");
    }

    /// The browser's own accessibility computation for an element (WebDriver's "Get Computed
    /// Label" and "Get Computed Role").
    pub async fn computed(&self, element: &Element, what: &'static str) -> Result<String, String> {
        let answer = self
            .client
            .issue_cmd(Computed {
                element: element.element_id().to_string(),
                what,
            })
            .await
            .map_err(|e| e.to_string())?;
        answer
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("not a string: {answer}"))
    }

    /// Waits until `check` holds for the element's attribute (at most `wait`).
    pub async fn wait_attr(
        &self,
        element: &Element,
        attribute: &str,
        wait: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let value = element.attr(attribute).await.unwrap().unwrap_or_default();
            if check(&value) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{attribute} stayed {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types into the textbox named `name`.
    pub async fn fill(&self, name: &str, text: &str) {
        self.by_role("textbox", name)
            .await
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Clicks the button named `name`.
    pub async fn press(&self, name: &str) {
        self.by_role("button", name).await.click().await.unwrap();
    }

    /// Follows the link named `name`.
    pub async fn follow(&self, name: &str) {
        self.by_role("link", name).await.click().await.unwrap();
    }

    /// Opens the console at `base` and submits the sign-in form.
    pub async fn submit_sign_in(&self, base: &str, email: &str, password: &str) {
        self.client.goto(&format!("{base}/")).await.unwrap();
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.press("Sign in").await;
    }

    /// Signs in through the form and waits until the console is shown.
    pub async fn sign_in(&self, app: &TestApp, email: &str) {
        self.submit_sign_in(&app.url, email, PASSWORD).await;
        self.by_role("button", "Sign out").await;
    }

    /// Waits until the element's text is `expected` (at most `wait`).
    pub async fn wait_text(&self, element: &Element, expected: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let text = element.text().await.unwrap();
            if text == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page says {text:?}, not {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Writes `text` in the Message box and sends it; the message's id and its progress bar.
    pub async fn send_message(&self, app: &TestApp, text: &str) -> (i64, Element) {
        self.fill("Message", text).await;
        self.press("Send").await;
        let token = app.login(&app.grace.staff_email).await;
        let id = newest_message(app, &token).await["messages"][0]["id"]
            .as_i64()
            .unwrap();
        let bar = self
            .by_role("progressbar", &format!("Delivery of message {id}"))
            .await;
        (id, bar)
    }

    /// The names of the main navigation's links, in order.
    pub async fn nav_links(&self) -> Vec<String> {
        let mut names = Vec::new();
        for link in self.client.find_all(Locator::Css("nav a")).await.unwrap() {
            names.push(self.computed(&link, "computedlabel").await.unwrap());
        }
        names
    }
}

#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl WebDriverCompatibleCommand for Computed {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/element/{}/{}",
            session_id.unwrap_or_default(),
            self.element,
            self.what
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (warp::http::Method, Option<String>) {
        (warp::http::Method::GET, None)
    }
}

/// The church's newest message once the page's send has been accepted (at most 10 s).
async fn newest_message(app: &TestApp, token: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let history = app.get_json("/api/messages/history?limit=1", token).await;
        if history["messages"][0]["id"].is_i64() {
            return history;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page sent nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sandbox_app() -> TestApp {
    spawn_app_with(&[
        ("TELNYX_API_KEY", ""),
        ("BELFRY_SANDBOX_DELAY_MS", "300"),
        ("BELFRY_SANDBOX_FAILURE_RATE", "0"),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_add_and_import_members_send_to_all_and_watch_every_delivery() {
    let app = sandbox_app().await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    assert_eq!(
        browser.nav_links().await,
        [
            "Messages",
            "Members",
            "Groups",
            "Conversations",
            "Chat",
            "Analytics",
            "Notifications",
            "Settings"
        ],
        "no Dashboard for staff"
    );

    // Members: add one, then import a CSV with one bad row.
    browser.follow("Members").await;
    browser.fill("Name", "Grace Hopper").await;
    browser.fill("Phone", "+12025550188").await;
    browser.press("Add member").await;
    browser.by_role("button", "Remove Grace Hopper").await;

    let csv = std::env::temp_dir().join(format!("belfry-members-{}.csv", std::process::id()));
    std::fs::write(
        &csv,
        "name,phone\nAlan Turing,+442071838751\nNot A Phone,12\nKatherine Johnson,+12025550199\n",
    )
    .unwrap();
    let file = browser
        .client
        .find(Locator::Css("input[type=file]"))
        .await
        .unwrap();
    assert_eq!(
        browser.computed(&file, "computedlabel").await.unwrap(),
        "CSV file"
    );
    file.send_keys(csv.to_str().unwrap()).await.unwrap();
    browser.press("Import").await;
    let summary = browser
        .client
        .wait()
        .for_element(Locator::Css(".import-summary"))
        .await
        .unwrap();
    assert_eq!(
        summary.text().await.unwrap(),
        "Imported 2 members; 1 row skipped."
    );
    let reason = browser
        .client
        .find(Locator::Css("caption + thead + tbody td + td"))
        .await
        .unwrap();
    assert!(reason.text().await.unwrap().starts_with("phone:"));
    let _ = std::fs::remove_file(&csv);
    browser.by_role("button", "Remove Alan Turing").await;

    browser.follow("Messages").await;
    let message = browser.by_role("textbox", "Message").await;
    message
        .send_keys("Choir practice moves to 7pm")
        .await
        .unwrap();
    let counter = browser
        .client
        .find(Locator::Css("form p.hint[aria-live]"))
        .await
        .unwrap();
    let text = counter.text().await.unwrap();
    assert!(
        text.contains("GSM-7") && text.contains("1 segment"),
        "{text}"
    );
    // One character outside GSM-7 makes the whole text UCS-2.
    message.send_keys(" 🙏").await.unwrap();
    let text = counter.text().await.unwrap();
    assert!(text.contains("UCS-2"), "{text}");

    let all = browser.by_role("radio", "All members").await;
    assert!(
        all.prop("checked")
            .await
            .unwrap()
            .is_some_and(|c| c == "true")
    );
    browser.press("Send").await;

    // The message the browser sent is the church's newest.
    let token = app.login(&app.grace.staff_email).await;
    let history = newest_message(&app, &token).await;
    let id = history["messages"][0]["id"].as_i64().unwrap();
    assert_eq!(
        history["messages"][0]["body"],
        "Choir practice moves to 7pm 🙏"
    );
    // The seeded members, the one added and the two imported.
    let m = app.grace.member_ids.len() + 3;
    let bar = browser
        .by_role("progressbar", &format!("Delivery of message {id}"))
        .await;
    assert_eq!(
        bar.attr("aria-valuemax").await.unwrap().unwrap(),
        m.to_string()
    );
    let done = format!("{m} of {m} delivered");
    browser
        .wait_attr(&bar, "aria-valuetext", Duration::from_secs(20), |v| {
            v == done
        })
        .await;
    assert_eq!(
        bar.attr("aria-valuenow").await.unwrap().unwrap(),
        m.to_string()
    );

    // Opened, the recipients' table shows each one delivered.
    browser.press("Recipients").await;
    let cells = browser
        .client
        .wait()
        .for_element(Locator::Css("td.st-delivered"))
        .await
        .unwrap();
    assert_eq!(cells.text().await.unwrap(), "delivered");
    let delivered = browser
        .client
        .find_all(Locator::Css("td.st-delivered"))
        .await
        .unwrap();
    assert_eq!(delivered.len(), m);

    // Filtered to failed messages, the list is empty; to delivered ones, it holds this one.
    let status = browser.by_role("combobox", "Status").await;
    let options = browser
        .client
        .wait()
        .for_element(Locator::Css("select[name=status] option[value=delivered]"))
        .await;
    assert!(options.is_ok(), "the statuses come from the API document");
    status.select_by_value("failed").await.unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::XPath("//p[normalize-space()='No messages.']"))
        .await
        .unwrap();
    status.select_by_value("delivered").await.unwrap();
    browser
        .by_role("progressbar", &format!("Delivery of message {id}"))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_said_in_an_alert_and_the_page_loads_nothing_foreign() {
    let app = sandbox_app().await;
    let response = app.http.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .http
        .get(format!("{}/", app.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let browser = Browser::open().await;
    browser
        .submit_sign_in(&app.url, &app.grace.staff_email, "not the password")
        .await;
    let alert = browser
        .client
        .wait()
        .for_element(Locator::Css("[role=alert]:not(:empty)"))
        .await
        .unwrap();
    assert!(!alert.text().await.unwrap().is_empty());

    // Every resource the page loaded came from the server itself.
    let origins = browser
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)",
            vec![],
        )
        .await
        .unwrap();
    let origins = origins.as_array().unwrap();
    assert!(!origins.is_empty());
    assert!(
        origins.iter().all(|o| o.as_str() == Some(app.url.as_str())),
        "{origins:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_the_tree_pauses_sending_retries_a_dead_letter_and_manages_staff() {
    use super::fake_telnyx::Reply;
    let app = spawn_app().await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    // The carrier refuses the first send for good: a dead letter.
    app.telnyx.script([Reply::Fail {
        status: 400,
        code: "40310",
        title: "Invalid 'to' address",
    }]);
    let id = app.send(&staff, &app.grace.member_ids[..1]).await;
    app.wait_for_message(&staff, id, |m| m["status"] == "failed")
        .await;
    let dlq = app.get_json("/api/admin/dlq", &admin).await;
    let letter = dlq["items"][0]["id"].as_i64().expect("a dead letter");

    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.admin_email).await;
    assert_eq!(
        browser.nav_links().await,
        [
            "Messages",
            "Members",
            "Groups",
            "Conversations",
            "Chat",
            "Analytics",
            "Notifications",
            "Settings",
            "Dashboard"
        ]
    );
    browser.follow("Dashboard").await;

    // The live tree, with the church's own room in it.
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//table[@aria-labelledby='tree-h']//td[normalize-space()='church:{}']",
            app.grace.id
        )))
        .await
        .unwrap();

    // Pausing and resuming the church's sending.
    let switch = browser.by_role("switch", "Pause sending").await;
    assert_eq!(switch.attr("aria-checked").await.unwrap().unwrap(), "false");
    browser.fill("Reason for pausing", "wrong date").await;
    switch.click().await.unwrap();
    browser
        .wait_attr(&switch, "aria-checked", Duration::from_secs(10), |v| {
            v == "true"
        })
        .await;
    let sending = app.get_json("/api/admin/sending", &admin).await;
    assert_eq!(sending["paused"], true);
    assert_eq!(sending["reason"], "wrong date");
    switch.click().await.unwrap();
    browser
        .wait_attr(&switch, "aria-checked", Duration::from_secs(10), |v| {
            v == "false"
        })
        .await;
    assert_eq!(
        app.get_json("/api/admin/sending", &admin).await["paused"],
        false
    );

    // Retrying the dead letter sends it again; the carrier accepts it this time.
    browser.press(&format!("Retry dead letter {letter}")).await;
    app.accepted(&staff, id, 1).await;
    let open = app.get_json("/api/admin/dlq", &admin).await;
    assert_eq!(open["total"], 0);

    // The throughput chart counts the one accepted send; the rooms list the church's room.
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(
            "//figcaption[@id='throughput-caption'][contains(., 'In all: 1 send,')]",
        ))
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//table[@aria-labelledby='rooms-h']//td[normalize-space()='church:{}']",
            app.grace.id
        )))
        .await
        .unwrap();

    // Staff: add a user with a temporary password, then disable them.
    for (field, value) in [
        ("Staff name", "Ruth Abara"),
        ("Staff email", "ruth@grace.test"),
        ("Temporary password", "temporary-password-1"),
    ] {
        browser.fill(field, value).await;
    }
    let role = browser.by_role("combobox", "Role").await;
    browser
        .client
        .wait()
        .for_element(Locator::Css("select option[value=staff]"))
        .await
        .unwrap();
    role.select_by_value("staff").await.unwrap();
    browser.press("Add staff user").await;
    browser.press("Disable Ruth Abara").await;
    browser.by_role("button", "Enable Ruth Abara").await;
    let users = app.get_json("/api/admin/users", &admin).await;
    let ruth = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ruth@grace.test")
        .expect("the user was added")
        .clone();
    assert_eq!(ruth["role"], "staff");
    assert_eq!(ruth["disabled"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_picks_a_church_on_the_dashboard_and_pauses_only_its_sending() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let other_staff = app.login(&app.other.staff_email).await;
    let _other_socket = app.connect(&other_staff).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, "operator@platform.test").await;
    assert_eq!(
        browser.nav_links().await,
        ["Analytics", "Notifications", "Settings", "Dashboard"]
    );
    let current = browser
        .client
        .wait()
        .for_element(Locator::Css("nav a[aria-current=page]"))
        .await
        .unwrap();
    assert_eq!(
        current.text().await.unwrap(),
        "Dashboard",
        "operators start on it"
    );
    browser.follow("Dashboard").await;
    let other_room = format!("church:{}", app.other.id);
    let room_cell =
        format!("//table[@aria-labelledby='rooms-h']//td[normalize-space()='{other_room}']");
    // Every church at once: the other church's room is listed, and no church's switch.
    browser
        .client
        .wait()
        .for_element(Locator::XPath(&room_cell))
        .await
        .unwrap();
    // The nodes sharing the database: this one, alive, without Redis.
    let node = browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!(
            "//table[@aria-labelledby='nodes-h']//tr[td[1][normalize-space()='{}']]",
            app.state.node.id
        )))
        .await
        .unwrap();
    let cells = node.text().await.unwrap();
    assert!(cells.contains("alive") && cells.contains("off"), "{cells}");
    assert!(
        browser
            .client
            .find_all(Locator::Css("[role=switch]"))
            .await
            .unwrap()
            .is_empty()
    );

    let picker = browser.by_role("combobox", "Church").await;
    let grace = app.grace.id.to_string();
    browser
        .client
        .wait()
        .for_element(Locator::Css(&format!("select option[value='{grace}']")))
        .await
        .unwrap();
    picker.select_by_value(&grace).await.unwrap();
    let switch = browser.by_role("switch", "Pause sending").await;
    switch.click().await.unwrap();
    browser
        .wait_attr(&switch, "aria-checked", Duration::from_secs(10), |v| {
            v == "true"
        })
        .await;
    let paused = |church: i64| {
        let (app, operator) = (&app, &operator);
        async move {
            app.get_json(&format!("/api/admin/sending?churchId={church}"), operator)
                .await["paused"]
                .clone()
        }
    };
    assert_eq!(paused(app.grace.id).await, true);
    assert_eq!(paused(app.other.id).await, false);
    // Grace's share of the rooms no longer lists the other church's.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !browser
        .client
        .find_all(Locator::XPath(&room_cell))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other church's room is still listed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn where_no_socket_can_open_the_console_says_so_and_polls_until_delivered() {
    // The server refuses this page's origin for sockets, as a proxy that blocks WebSockets
    // would; plain HTTP still works.
    let app = spawn_app_with(&[
        ("TELNYX_API_KEY", ""),
        ("BELFRY_SANDBOX_DELAY_MS", "300"),
        ("BELFRY_SANDBOX_FAILURE_RATE", "0"),
        ("BELFRY_WS_ALLOWED_ORIGINS", "https://elsewhere.example"),
    ])
    .await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    let indicator = browser
        .client
        .find(Locator::Css(".who .live"))
        .await
        .unwrap();
    browser
        .wait_text(
            &indicator,
            "No live connection: checking every 3 s",
            Duration::from_secs(20),
        )
        .await;

    let (_, bar) = browser.send_message(&app, "Youth group meets at 6").await;
    let m = app.grace.member_ids.len();
    let done = format!("{m} of {m} delivered");
    browser
        .wait_attr(&bar, "aria-valuetext", Duration::from_secs(30), |v| {
            v == done
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_change_the_users_own_name_and_password() {
    let app = sandbox_app().await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Settings").await;

    let name = browser.by_role("textbox", "Name").await;
    // The form shows the current name once it has loaded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while name.prop("value").await.unwrap().unwrap_or_default() != "Test User" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the name never loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    name.clear().await.unwrap();
    name.send_keys("Pat Doe").await.unwrap();
    browser.press("Save name").await;
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//div[@id='who']/span[normalize-space()='Pat Doe']",
        ))
        .await
        .unwrap();
    let token = app.login(&app.grace.staff_email).await;
    assert_eq!(app.get_json("/api/me", &token).await["name"], "Pat Doe");

    let new_password = "a much longer passphrase";
    browser.fill("Current password", PASSWORD).await;
    browser.fill("New password", new_password).await;
    browser.press("Change password").await;
    // Other sessions' tokens stop working; this tab keeps going with its new one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.get("/api/me", &token).await.status() != 401 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old token still works"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.follow("Messages").await;
    browser.by_role("textbox", "Message").await;
    let alerts = browser
        .client
        .find_all(Locator::Css("[role=alert]:not(:empty)"))
        .await
        .unwrap();
    assert!(alerts.is_empty(), "the page works with the new token");

    browser.press("Sign out").await;
    browser.fill("Email", &app.grace.staff_email).await;
    browser.fill("Password", new_password).await;
    browser.press("Sign in").await;
    browser.by_role("button", "Sign out").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_shows_the_church_room_live_with_names_typing_and_what_the_page_sends() {
    let app = sandbox_app().await;
    let admin_token = app.login(&app.grace.admin_email).await;
    let mut admin = app.connect(&admin_token).await;
    let browser = Browser::open().await;
    browser.sign_in(&app, &app.grace.staff_email).await;
    browser.follow("Chat").await;
    browser.by_role("button", "Whole church").await;

    // Sent from the page: stored, and seen by the other user's socket.
    browser.fill("Chat message", "Hello from the office").await;
    browser.press("Send message").await;
    admin
        .until(Duration::from_secs(10), |e| {
            e["type"] == "chat:message" && e["body"] == "Hello from the office"
        })
        .await;

    // From the other user: typing, then a message, shown with their name.
    admin
        .send_json(json!({"type": "typing:start", "room": format!("church:{}", app.grace.id)}))
        .await;
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//p[normalize-space()='Test User is typing…']",
        ))
        .await
        .unwrap();
    admin
        .send_json(
            json!({"type": "chat:send", "room": format!("church:{}", app.grace.id),
            "body": "Thanks, see you Sunday", "clientId": "c1"}),
        )
        .await;
    let line = browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//ol[@aria-label='Messages']/li[div[normalize-space()='Thanks, see you Sunday']]",
        ))
        .await
        .unwrap();
    assert!(line.text().await.unwrap().starts_with("Test User"));
    let mine = browser
        .client
        .find(Locator::XPath(
            "//ol[@aria-label='Messages']/li[div[normalize-space()='Hello from the office']]",
        ))
        .await
        .unwrap();
    assert!(mine.text().await.unwrap().starts_with("You"));

    // "@Name" typed on the page mentions that person.
    let admin_id = app.user_id(&admin_token);
    let staff_id = app.user_id(&app.login(&app.grace.staff_email).await);
    browser
        .fill("Chat message", "@Test User can you lock up?")
        .await;
    browser.press("Send message").await;
    let mention = admin
        .until(Duration::from_secs(10), |e| {
            e["type"] == "chat:message" && e["body"] == "@Test User can you lock up?"
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(mention["mentions"], json!([admin_id]), "{mention}");
    // A mention of the page's user stands out, and the open page marks it read (so they are
    // not notified of what they saw).
    admin
        .send_json(
            json!({"type": "chat:send", "room": format!("church:{}", app.grace.id),
            "body": "Yes, I will", "clientId": "c2", "mentions": [staff_id]}),
        )
        .await;
    let ack = admin
        .until(Duration::from_secs(10), |e| e["type"] == "chat:ack")
        .await
        .pop()
        .unwrap();
    let marked = browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//ol[@aria-label='Messages']/li[@class='mentioned'][div[normalize-space()='Yes, I will']]",
        ))
        .await
        .unwrap();
    assert!(marked.text().await.unwrap().contains("mentions you"));
    admin
        .until(Duration::from_secs(10), |e| {
            e["type"] == "chat:read" && e["userId"] == staff_id && e["messageId"] == ack["id"]
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_dropped_connection_the_progress_comes_back_right() {
    use super::browser::Proxy;
    // Deliveries slow enough to happen while the page is cut off.
    let app = spawn_app_with(&[
        ("TELNYX_API_KEY", ""),
        ("BELFRY_SANDBOX_DELAY_MS", "2500"),
        ("BELFRY_SANDBOX_FAILURE_RATE", "0"),
    ])
    .await;
    let addr: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let proxy = Proxy::start(addr).await;
    let browser = Browser::open().await;
    browser
        .submit_sign_in(
            &format!("http://{}", proxy.addr),
            &app.grace.staff_email,
            PASSWORD,
        )
        .await;
    let indicator = browser
        .client
        .wait()
        .for_element(Locator::Css(".who .live"))
        .await
        .unwrap();
    browser
        .wait_text(&indicator, "Live", Duration::from_secs(10))
        .await;

    let (id, bar) = browser.send_message(&app, "Bring a friend on Sunday").await;
    let token = app.login(&app.grace.staff_email).await;

    // The connection drops before any delivery and stays down while they all happen.
    proxy.cut();
    let m = app.grace.member_ids.len();
    app.wait_for_message(&token, id, |msg| msg["deliveredCount"] == m)
        .await;
    assert_ne!(
        bar.attr("aria-valuetext").await.unwrap().unwrap(),
        format!("{m} of {m} delivered"),
        "nothing reached the page while it was cut off"
    );
    proxy.allow();
    let done = format!("{m} of {m} delivered");
    browser
        .wait_attr(&bar, "aria-valuetext", Duration::from_secs(30), |v| {
            v == done
        })
        .await;
}
