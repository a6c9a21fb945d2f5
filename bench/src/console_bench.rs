//! The console's first page load on the demo, in headless Chromium: bytes transferred (and
//! before compression), requests, origins, and the time until the page is drawn and usable
//! (the console marks `belfry:ready` once its first page is drawn). Each run is a new browser
//! session, so nothing is cached. Optionally takes screenshots of the main pages, signed in
//! as the demo's church admin after a broadcast has been delivered.
//!
//! It starts `belfry demo` (the binary next to this one) on a fresh database and drives
//! Chromium through chromedriver's WebDriver API.
//!
//! `cargo build --release && cargo run --release -p belfry-bench --bin belfry-console-bench -- [--runs N] [--write FILE] [--screenshots DIR]`

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const PASSWORD: &str = "belfry-demo-2026";

struct Options {
    runs: usize,
    write: Option<String>,
    screenshots: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        runs: 7,
        write: None,
        screenshots: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => options.runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--write" => options.write = args.next(),
            "--screenshots" => options.screenshots = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

/// One WebDriver session.
struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn new(http: &reqwest::Client, driver: &str) -> Session {
        let answer: Value = http
            .post(format!("{driver}/session"))
            .json(
                &json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"]}}}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"));
        Session {
            http: http.clone(),
            base: format!("{driver}/session/{id}"),
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, body).await
    }

    async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// The first element `css` finds, waiting for it (at most 20 s).
    async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .post("/element", json!({"using": "css selector", "value": css}))
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "nothing matches {css}: {found}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/value"), json!({"text": text}))
            .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    async fn screenshot(&self, path: &str) {
        let png = self
            .cmd(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

struct Load {
    transferred: f64,
    decoded: f64,
    requests: usize,
    foreign: usize,
    ready_ms: f64,
}

const MEASURE: &str = "
    const ready = performance.getEntriesByName('belfry:ready')[0];
    if (!ready) return null;
    const entries = [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')];
    return {
        transferred: entries.reduce((n, e) => n + e.transferSize, 0),
        decoded: entries.reduce((n, e) => n + e.decodedBodySize, 0),
        requests: entries.length,
        foreign: entries.filter(e => new URL(e.name).origin !== location.origin).length,
        readyMs: ready.startTime,
    };";

async fn first_load(http: &reqwest::Client, driver: &str, url: &str) -> Load {
    let session = Session::new(http, driver).await;
    session
        .post("/url", json!({"url": format!("{url}/")}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let figures = loop {
        let figures = session.script(MEASURE).await;
        if !figures.is_null() {
            break figures;
        }
        assert!(
            Instant::now() < deadline,
            "the console never marked itself ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    session.close().await;
    Load {
        transferred: figures["transferred"].as_f64().unwrap(),
        decoded: figures["decoded"].as_f64().unwrap(),
        requests: figures["requests"].as_u64().unwrap() as usize,
        foreign: figures["foreign"].as_u64().unwrap() as usize,
        ready_ms: figures["readyMs"].as_f64().unwrap(),
    }
}

async fn screenshots(http: &reqwest::Client, driver: &str, url: &str, dir: &str) {
    let session = Session::new(http, driver).await;
    session
        .post("/url", json!({"url": format!("{url}/")}))
        .await;
    session
        .screenshot(&format!("{dir}/console-sign-in.png"))
        .await;
    session
        .type_into("input[type=email]", "admin@grace.example")
        .await;
    session.type_into("input[type=password]", PASSWORD).await;
    session.click("form button[type=submit]").await;
    session.find("nav a[href='#/messages']").await;
    session
        .type_into(
            "textarea",
            "Potluck after the 10am service this Sunday. Bring a dish to share!",
        )
        .await;
    session.click("form button[type=submit]").await;
    // The sandbox delivers in a moment: wait for the first message's bar to fill.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = session
            .script(
                "const bar = document.querySelector('[role=progressbar]');
                 return bar && bar.getAttribute('aria-valuenow') === bar.getAttribute('aria-valuemax');",
            )
            .await;
        if done == Value::Bool(true) {
            break;
        }
        assert!(Instant::now() < deadline, "the broadcast was not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    session.click("article button[aria-expanded]").await;
    session.find("td.st-delivered").await;
    session
        .screenshot(&format!("{dir}/console-messages.png"))
        .await;
    session
        .post("/url", json!({"url": format!("{url}/#/members")}))
        .await;
    session.find("tbody tr").await;
    session
        .screenshot(&format!("{dir}/console-members.png"))
        .await;
    session
        .post("/url", json!({"url": format!("{url}/#/analytics")}))
        .await;
    session
        .find("section[aria-labelledby=delivery-h] tbody tr")
        .await;
    session
        .screenshot(&format!("{dir}/console-analytics.png"))
        .await;
    session
        .post("/url", json!({"url": format!("{url}/#/notifications")}))
        .await;
    // The welcome, and the broadcast's notice once it is summarized.
    session.find(".inbox li:nth-child(2)").await;
    session
        .screenshot(&format!("{dir}/console-notifications.png"))
        .await;
    session
        .post("/url", json!({"url": format!("{url}/#/dashboard")}))
        .await;
    session.find("table[aria-labelledby=tree-h] tbody tr").await;
    session
        .script("document.getElementById('breaker-h').scrollIntoView(); return null;")
        .await;
    session
        .screenshot(&format!("{dir}/console-dashboard.png"))
        .await;
    session.close().await;
}

/// `belfry demo` on a fresh database; its URL and the database's.
async fn start_demo() -> (Child, String, String) {
    let binary = std::env::current_exe().unwrap().with_file_name("belfry");
    let database = format!(
        "postgres://postgres@127.0.0.1:5432/belfry_console_bench_{}",
        std::process::id()
    );
    let mut child = Command::new(binary)
        .arg("demo")
        .env("DATABASE_URL", &database)
        .env("BELFRY_ADDR", "127.0.0.1:0")
        .env("BELFRY_SANDBOX_DELAY_MS", "200")
        .env("BELFRY_SANDBOX_FAILURE_RATE", "0")
        .env_remove("TELNYX_API_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the belfry binary is built next to this one (cargo build --release)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("the demo starts");
        if let Some(rest) = line.split("running at ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url, database)
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(|a, b| a.total_cmp(b));
    figures[figures.len() / 2]
}

#[tokio::main]
async fn main() {
    let options = options();
    let (mut demo, url, database) = start_demo().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver (apt-get install chromium chromium-driver)");
    let driver_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("{driver_url}/status"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut loads = Vec::new();
    for run in 0..options.runs {
        let load = first_load(&http, &driver_url, &url).await;
        eprintln!(
            "run {}: {:.1} KB transferred ({:.1} KB decoded), {} requests, ready at {:.0} ms",
            run + 1,
            load.transferred / 1000.0,
            load.decoded / 1000.0,
            load.requests,
            load.ready_ms
        );
        loads.push(load);
    }
    let transferred = median(loads.iter().map(|l| l.transferred).collect());
    let decoded = median(loads.iter().map(|l| l.decoded).collect());
    let ready = median(loads.iter().map(|l| l.ready_ms).collect());
    let fastest = loads.iter().map(|l| l.ready_ms).fold(f64::MAX, f64::min);
    let slowest = loads.iter().map(|l| l.ready_ms).fold(0.0, f64::max);
    let requests = loads[0].requests;
    let foreign: usize = loads.iter().map(|l| l.foreign).sum();
    let report = format!(
        "| first load of `/` (sign-in page, every module) | {:.1} KB | {:.1} KB | {:.0} % | {requests} | {foreign} | {ready:.0} ms ({fastest:.0}–{slowest:.0}) |\n",
        transferred / 1000.0,
        decoded / 1000.0,
        100.0 * transferred / decoded,
    );
    print!("{report}");
    if let Some(path) = options.write {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(report.as_bytes()).unwrap();
    }
    if let Some(dir) = options.screenshots {
        screenshots(&http, &driver_url, &url, &dir).await;
        eprintln!("screenshots written to {dir}");
    }
    let _ = driver.kill().await;
    let _ = demo.kill().await;
    let _ = belfry::db::drop_database(&database).await;
}
