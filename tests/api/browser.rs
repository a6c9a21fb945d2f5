//! `/client/belfry.js` in a real browser: headless Chromium loads a page that imports the
//! client from the server, connects, sends a chat message, receives a delivery status event,
//! loses its connection
//! (a proxy between browser and server cuts it and refuses new ones for a while), reconnects
//! and resumes without a gap. The page reports what it sees to this test over HTTP.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belfry_actors::protocol::{RoomEvent, church_room};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use warp::Filter;

use super::fake_telnyx::FakeTelnyx;
use super::helpers::{TestApp, spawn_app_with};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Forwards TCP to the server; can cut every connection and refuse new ones.
pub struct Proxy {
    pub addr: SocketAddr,
    refusing: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let refusing = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (refuse, conns) = (Arc::clone(&refusing), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if refuse.load(Ordering::SeqCst) {
                    continue; // dropped at once
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            addr,
            refusing,
            connections,
        }
    }

    /// Drops every open connection and refuses new ones until `allow`.
    pub fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn allow(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

/// Serves the test page and collects its reports.
async fn page_server(
    app: &TestApp,
    ws_url: String,
    token: String,
) -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let page = format!(
        r#"<!doctype html><meta charset="utf-8"><title>belfry client</title>
<script type="module">
import {{ BelfryClient }} from "{belfry}/client/belfry.js";
// One report at a time, so they arrive in the order they were made.
let queue = Promise.resolve();
const report = (kind, data = {{}}) => {{
  const body = JSON.stringify({{ kind, ...data }});
  queue = queue.then(() => fetch("/report", {{ method: "POST",
    headers: {{ "content-type": "application/json" }}, body }})).catch(() => {{}});
}};
const client = new BelfryClient("{ws_url}", {{ token: "{token}", initialDelayMs: 100, maxDelayMs: 400 }});
client.on("open", () => report("open"));
client.on("close", (e) => report("close", {{ code: e.code }}));
client.on("joined", (f) => report("joined", {{ room: f.room, seq: f.seq }}));
client.on("resumed", (f) => report("resumed", {{ room: f.room, missed: f.missed }}));
client.on("reset", (f) => report("reset", {{ room: f.room }}));
client.on("event", (e) => report("event", {{ room: e.room, epoch: e.epoch, seq: e.seq, type: e.type, n: e.type === "chat:read" ? e.messageId : null, body: e.body ?? null }}));
client.on("chat:ack", (a) => report("ack", {{ clientId: a.clientId, id: a.id }}));
client.on("chat:message", (m) => report("chat", {{ id: m.id, body: m.body, replayed: m.replayed === true }}));
client.on("caught-up", (f) => report("caught-up", {{ room: f.room }}));
client.once("joined", () => {{
  client.send({{ type: "chat:send", room: "{church_room}", body: "Hello from the browser", clientId: "page-1" }});
}});
client.connect();
</script>"#,
        belfry = app.url,
        church_room = church_room(app.grace.id),
    );
    let html = warp::path::end().map(move || warp::reply::html(page.clone()));
    let report = warp::path!("report")
        .and(warp::post())
        .and(warp::body::json::<Value>())
        .map(move |body: Value| {
            let _ = tx.send(body);
            warp::reply()
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(html.or(report)).incoming(listener).run());
    (format!("http://{addr}"), rx)
}

/// Reads reports until `pred` holds for one; returns all read.
async fn reports_until(
    rx: &mut mpsc::UnboundedReceiver<Value>,
    seen: &mut Vec<Value>,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let report = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the page never reported {what}; saw {seen:?}"))
            .expect("page server running");
        let hit = pred(&report);
        seen.push(report);
        if hit {
            return;
        }
    }
}

fn publish(app: &TestApp, n: u64) {
    app.state.system.directory().publish(
        church_room(app.grace.id),
        // A test event numbered `n` (no user has id 0).
        RoomEvent::ChatRead {
            user_id: 0,
            message_id: n as i64,
        },
    );
}

/// Headless Chromium showing the test page; killed (and its profile removed) when dropped.
struct Browser {
    _process: tokio::process::Child,
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts the server (`overrides` as for `spawn_app_with`), a proxy in front of it, and a
    /// browser on a page that connects through the proxy as staff.
    async fn open(
        overrides: &[(&str, &str)],
    ) -> (TestApp, Proxy, Browser, mpsc::UnboundedReceiver<Value>) {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "this test drives Debian's chromium: apt-get install chromium (.ci/run does)"
        );
        // The page's origin is not known before its server starts; the allowlist is checked
        // in the protocol tests.
        let app = spawn_app_with(overrides).await;
        let token = app.login(&app.grace.staff_email).await;
        let server_addr: SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
        let proxy = Proxy::start(server_addr).await;
        let (page_url, reports) = page_server(&app, format!("ws://{}/ws", proxy.addr), token).await;
        // One profile per browser: Chromium hands a page to a running instance on the same one.
        let profile = std::env::temp_dir().join(format!(
            "belfry-chromium-{}-{}",
            std::process::id(),
            proxy.addr.port()
        ));
        let process = tokio::process::Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&page_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");

        let browser = Browser {
            _process: process,
            profile,
        };
        (app, proxy, browser, reports)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_client_connects_receives_and_resumes_without_a_gap() {
    let (app, proxy, browser, mut reports) = Browser::open(&[]).await;
    let token = app.login(&app.grace.staff_email).await;
    let mut seen = Vec::new();
    let room = church_room(app.grace.id);
    let is_joined = |r: &Value| r["kind"] == "joined" && r["room"] == room.as_str();
    reports_until(
        &mut reports,
        &mut seen,
        "joining its church room",
        is_joined,
    )
    .await;

    for n in 1..=3 {
        publish(&app, n);
    }
    let has_n = |n: u64| move |r: &Value| r["kind"] == "event" && r["n"] == n;
    reports_until(&mut reports, &mut seen, "event 3", has_n(3)).await;

    // A real send: the fake Telnyx reports delivery, and the status reaches the browser.
    let member = app.grace.member_ids[0];
    let id = app.send(&token, &[member]).await;
    let (phone, carrier_id) = app.accepted(&token, id, 1).await.remove(0);
    let delivered = FakeTelnyx::event(
        "fin-1",
        "message.finalized",
        &carrier_id,
        &phone,
        "delivered",
        json!([]),
    );
    assert_eq!(
        app.telnyx.post_webhook(&app.url, &delivered).await.status(),
        200
    );
    reports_until(&mut reports, &mut seen, "a delivery status", |r| {
        r["kind"] == "event" && r["type"] == "message:delivered"
    })
    .await;

    // The connection drops; events go on while the browser cannot reconnect.
    proxy.cut();
    reports_until(&mut reports, &mut seen, "the close", |r| {
        r["kind"] == "close"
    })
    .await;
    for n in 4..=6 {
        publish(&app, n);
    }
    proxy.allow();
    reports_until(&mut reports, &mut seen, "a resume", |r| {
        r["kind"] == "resumed" && r["room"] == room.as_str()
    })
    .await;
    reports_until(&mut reports, &mut seen, "event 6", has_n(6)).await;
    publish(&app, 7);
    reports_until(&mut reports, &mut seen, "event 7", has_n(7)).await;

    drop(browser);

    // Every event of the church room, across the reconnect: one epoch, consecutive seqs, each
    // test event once.
    let events: Vec<&Value> = seen
        .iter()
        .filter(|r| r["kind"] == "event" && r["room"] == room.as_str())
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..first + seqs.len() as u64).collect::<Vec<_>>(),
        "no gap, no repeat: {seen:?}"
    );
    assert!(events.iter().all(|e| e["epoch"] == events[0]["epoch"]));
    let ns: Vec<u64> = events.iter().filter_map(|e| e["n"].as_u64()).collect();
    assert_eq!(ns, vec![1, 2, 3, 4, 5, 6, 7]);
    assert!(
        seen.iter().filter(|r| r["kind"] == "open").count() >= 2,
        "it reconnected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_client_catches_up_on_chat_beyond_the_history() {
    // Two events of history: what the browser misses below cannot be resumed.
    let (app, proxy, browser, mut reports) =
        Browser::open(&[("BELFRY_WS_HISTORY_SIZE", "2")]).await;
    let mut seen = Vec::new();
    reports_until(&mut reports, &mut seen, "its own chat message", |r| {
        r["kind"] == "chat" && r["body"] == "Hello from the browser"
    })
    .await;

    proxy.cut();
    reports_until(&mut reports, &mut seen, "the close", |r| {
        r["kind"] == "close"
    })
    .await;
    let admin = app.login(&app.grace.admin_email).await;
    let mut other = app.connect(&admin).await;
    let room = church_room(app.grace.id);
    for n in 1..=5 {
        other
            .send_json(json!({"type": "chat:send", "room": room, "body": format!("missed {n}"), "clientId": format!("m-{n}")}))
            .await;
        other
            .until(Duration::from_secs(5), |f| f["type"] == "chat:ack")
            .await;
    }
    proxy.allow();
    reports_until(&mut reports, &mut seen, "the catch-up", |r| {
        r["kind"] == "caught-up"
    })
    .await;
    drop(browser);

    assert!(
        seen.iter()
            .any(|r| r["kind"] == "reset" && r["room"] == room.as_str()),
        "the history was gone: {seen:?}"
    );
    let chat: Vec<(&str, bool)> = seen
        .iter()
        .filter(|r| r["kind"] == "chat")
        .map(|r| (r["body"].as_str().unwrap(), r["replayed"] == true))
        .collect();
    assert_eq!(
        chat,
        [
            ("Hello from the browser", false),
            ("missed 1", true),
            ("missed 2", true),
            ("missed 3", true),
            ("missed 4", true),
            ("missed 5", true),
        ],
        "each missed message once, from the store"
    );
}
