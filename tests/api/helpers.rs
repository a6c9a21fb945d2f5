//! `spawn_app()`: the real server on a random port with a fresh database, a fake Telnyx, and
//! two churches with users and members; plus HTTP and WebSocket clients that talk to it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use belfry::app::{Application, ShutdownHandle};
use belfry::clock::{Clock, SharedClock};
use belfry::config::Config;
use belfry::db;
use belfry::state::AppState;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::fake_telnyx::{API_KEY, FakeTelnyx};

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-0123456789";
pub const PASSWORD: &str = "correct horse battery";
const PG: &str = "postgres://postgres@127.0.0.1:5432";

pub struct Church {
    pub id: i64,
    pub admin_email: String,
    pub staff_email: String,
    pub member_ids: Vec<i64>,
}

pub struct TestApp {
    pub url: String,
    /// The server's quiet-hours clock: the system's until a test sets it.
    pub clock: Arc<TestClock>,
    pub telnyx: FakeTelnyx,
    pub state: AppState,
    pub grace: Church,
    pub other: Church,
    pub http: reqwest::Client,
    shutdown: ShutdownHandle,
    /// The configuration this server started with, for a second server on its database.
    env: HashMap<String, String>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

/// A clock a test sets to any moment, from which it runs on at the real pace.
#[derive(Default)]
pub struct TestClock {
    /// How far ahead of the system's clock it is, in milliseconds.
    ahead_ms: AtomicI64,
}

impl TestClock {
    /// From now on the clock reads `at`, and runs on from there.
    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        let ahead = at - chrono::Utc::now();
        self.ahead_ms
            .store(ahead.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
            + chrono::Duration::milliseconds(AtomicI64::load(&self.ahead_ms, Ordering::SeqCst))
    }
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// Drops test databases left by test processes that no longer run.
async fn drop_stale_databases() {
    let Ok(mut conn) = AsyncPgConnection::establish(&format!("{PG}/postgres")).await else {
        return;
    };
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'belfry_test_%'")
            .load(&mut conn)
            .await
            .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .split('_')
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = db::drop_database(&format!("{PG}/{datname}")).await;
        }
    }
}

/// A database name no other test uses; dropped by a later run once this process is gone.
pub async fn fresh_database_url() -> String {
    static CLEANUP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANUP.get_or_init(drop_stale_databases).await;
    format!(
        "{PG}/belfry_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestApp {
    /// Adds `n` members to the Grace church; returns their ids.
    pub async fn add_members(&mut self, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let phone = belfry::domain::PhoneNumber::parse(&format!("+1404555{i:04}")).unwrap();
            let member = db::members::create(
                &self.state.pool,
                self.grace.id,
                &format!("Extra {i}"),
                &phone,
            )
            .await
            .unwrap();
            ids.push(member.id);
        }
        self.grace.member_ids.extend(&ids);
        ids
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// `overrides` replace or add environment variables of the test configuration; an empty value
/// removes one (`("TELNYX_API_KEY", "")` gives the sandbox carrier).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let telnyx = FakeTelnyx::start().await;
    let database_url = fresh_database_url().await;
    let mut env: HashMap<String, String> = [
        ("BELFRY_ADDR", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url),
        ("BELFRY_DB_POOL_SIZE", "4".to_owned()),
        ("BELFRY_JWT_SECRET", JWT_SECRET.to_owned()),
        ("TELNYX_API_KEY", API_KEY.to_owned()),
        ("TELNYX_BASE_URL", telnyx.base_url()),
        ("TELNYX_PUBLIC_KEY", telnyx.public_key_base64()),
        ("TELNYX_FROM_NUMBER", "+15550001111".to_owned()),
        ("BELFRY_SEND_BACKOFF_BASE_MS", "20".to_owned()),
        ("BELFRY_SEND_BACKOFF_MAX_MS", "100".to_owned()),
        ("BELFRY_SEND_TIMEOUT_MS", "2000".to_owned()),
        ("BELFRY_SENDER_WORKERS", "4".to_owned()),
        // Unpaced unless a test is about pacing.
        ("BELFRY_SEND_RATE", "0".to_owned()),
        // Every test's clients share one address and poll: limits are set high unless a test
        // is about them.
        ("BELFRY_LIMIT_API", "1000000/3600".to_owned()),
        ("BELFRY_LIMIT_SMS", "1000000/3600".to_owned()),
        ("BELFRY_LIMIT_NOTIFY", "1000000/3600".to_owned()),
        ("BELFRY_LIMIT_LOGIN_IP", "1000000/60".to_owned()),
        ("BELFRY_LIMIT_LOGIN_EMAIL", "1000000/60".to_owned()),
        ("BELFRY_LIMIT_LOGIN_ACCOUNT", "1000000/60".to_owned()),
        ("BELFRY_LIMIT_WS_IP", "1000000/60".to_owned()),
        ("BELFRY_LIMIT_WS_USER", "1000000/60".to_owned()),
        // Every test client connects from 127.0.0.1, as if through one proxy.
        ("BELFRY_MAX_PENDING_PER_ADDRESS", "100000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        if v.is_empty() {
            env.remove(*k);
        } else {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    let clock = Arc::new(TestClock::default());
    let (url, state, shutdown) = start_server(&env, &clock).await;

    let pool = state.pool.clone();
    let grace = seed_church(&pool, "Grace Chapel", "grace", 3).await;
    let other = seed_church(&pool, "Other Church", "other", 1).await;
    TestApp {
        url,
        clock,
        telnyx,
        state,
        grace,
        other,
        http: reqwest::Client::new(),
        shutdown,
        env,
    }
}

async fn start_server(
    env: &HashMap<String, String>,
    clock: &Arc<TestClock>,
) -> (String, AppState, ShutdownHandle) {
    let env = env.clone();
    let config = Config::from_source(&move |name: &str| env.get(name).cloned(), None)
        .expect("test configuration");
    let app = Application::build_with_clock(config, Arc::clone(clock) as SharedClock)
        .await
        .expect("server starts");
    let url = format!("http://{}", app.addr());
    let state = app.state().clone();
    let shutdown = app.shutdown_handle();
    tokio::spawn(app.run());
    (url, state, shutdown)
}

/// Another server on a test app's database, sharing nothing in memory with it: what a
/// restart gives.
pub struct OtherServer {
    pub url: String,
    shutdown: ShutdownHandle,
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

async fn seed_church(pool: &db::DbPool, name: &str, slug: &str, members: usize) -> Church {
    let id = db::churches::create(pool, name).await.unwrap().id;
    let admin_email = format!("admin@{slug}.test");
    let staff_email = format!("staff@{slug}.test");
    for (email, role) in [(&admin_email, "admin"), (&staff_email, "staff")] {
        belfry::accounts::create_user(pool, Some(id), email, "Test User", role, PASSWORD.into())
            .await
            .unwrap();
    }
    let mut member_ids = Vec::new();
    for i in 0..members {
        let phone =
            belfry::domain::PhoneNumber::parse(&format!("+1202555{:04}", id * 100 + i as i64))
                .unwrap();
        member_ids.push(
            db::members::create(pool, id, &format!("Member {i}"), &phone)
                .await
                .unwrap()
                .id,
        );
    }
    Church {
        id,
        admin_email,
        staff_email,
        member_ids,
    }
}

impl TestApp {
    /// Tokens for many staff users of `church`, made straight in the database (hashing a
    /// password for each would take seconds): user ids are `ids`, and nobody can sign in as them.
    pub async fn staff_tokens(&self, ids: std::ops::Range<i64>, church: i64) -> Vec<String> {
        let mut conn = self.state.pool.get().await.unwrap();
        diesel::sql_query(format!(
            "INSERT INTO users (id, church_id, email, name, role, password_hash) \
             SELECT g, {church}, 'user' || g || '@many.test', 'Many ' || g, 'staff', 'none' \
             FROM generate_series({}, {}) g",
            ids.start,
            ids.end - 1
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        ids.map(|user_id| {
            let subject = belfry::auth::TokenSubject {
                user_id,
                church_id: Some(church),
                role: belfry::domain::Role::Staff,
                token_version: 0,
            };
            self.state.auth.keys.mint(&subject).unwrap().token
        })
        .collect()
    }

    /// The phone of one of the church's members, as `GET /api/members` shows it to `token`.
    pub async fn phone_of(&self, token: &str, member_id: i64) -> String {
        let members = self.get_json("/api/members", token).await;
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == member_id)
            .expect("the member is listed")["phone"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Stops this server (as a restart's first half); `another_server` is the second.
    pub fn stop(&self) {
        self.shutdown.shutdown();
    }

    /// Starts another server on this one's database and configuration.
    pub async fn another_server(&self) -> OtherServer {
        let (url, _, shutdown) = start_server(&self.env, &self.clock).await;
        OtherServer { url, shutdown }
    }

    /// A platform operator's token (the operator, of no church, is made on first use).
    pub async fn operator(&self) -> String {
        let email = "operator@platform.test";
        // A second call finds the operator there already.
        let _ = belfry::accounts::create_user(
            &self.state.pool,
            None,
            email,
            "Platform Operator",
            "operator",
            PASSWORD.into(),
        )
        .await;
        self.login(email).await
    }

    pub async fn login(&self, email: &str) -> String {
        let response = self
            .post_json(
                "/api/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .patch(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Sends `body` to `member_ids`; returns the message id.
    pub async fn send(&self, token: &str, member_ids: &[i64]) -> i64 {
        let response = self
            .post_json(
                "/api/messages",
                Some(token),
                &json!({"body": "Service at 10am", "memberIds": member_ids}),
            )
            .await;
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "pending");
        assert_eq!(body["recipientCount"], member_ids.len());
        body["id"].as_i64().unwrap()
    }

    /// The user a token was minted for (its `sub`).
    pub fn user_id(&self, token: &str) -> i64 {
        use base64::Engine;
        let claims = token.split('.').nth(1).expect("a JWT");
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .expect("base64url claims");
        let claims: Value = serde_json::from_slice(&payload).expect("JSON claims");
        claims["sub"].as_str().unwrap().parse().unwrap()
    }

    /// Waits until `n` recipients of message `id` are accepted by the carrier; returns their
    /// phones and carrier ids.
    pub async fn accepted(&self, token: &str, id: i64, n: usize) -> Vec<(String, String)> {
        let message = self
            .wait_for_message(token, id, |m| {
                m["recipients"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["providerMessageId"].is_string())
                    .count()
                    == n
            })
            .await;
        message["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["phone"].as_str().unwrap().to_owned(),
                    r["providerMessageId"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Polls the message until `done` holds for it.
    pub async fn wait_for_message(
        &self,
        token: &str,
        id: i64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            last = self.get_json(&format!("/api/messages/{id}"), token).await;
            if done(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("message {id} never reached the expected state: {last}");
    }

    pub fn ws_url(&self, token: &str) -> String {
        format!("{}/ws?token={token}", self.url.replacen("http", "ws", 1))
    }

    pub async fn connect(&self, token: &str) -> WsClient {
        let (stream, _) = connect_async(self.ws_url(token))
            .await
            .expect("socket connects");
        WsClient::greeted(stream).await.0
    }
}

/// Logs in to a server started as a child process; returns the token.
pub async fn login_at(url: &str, email: &str, password: &str) -> String {
    let login: Value = reqwest::Client::new()
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().expect("logged in").to_owned()
}

/// Sends `body` to every member through a server started as a child process; returns the
/// receipt.
pub async fn broadcast_at(url: &str, token: &str, body: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/messages"))
        .bearer_auth(token)
        .json(&json!({"body": body, "allMembers": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for others, handed out first.
    pending: std::collections::VecDeque<Value>,
}

impl WsClient {
    /// A socket as it is, nothing read yet.
    pub fn raw(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> WsClient {
        WsClient {
            stream,
            pending: Default::default(),
        }
    }

    /// Reads the welcome and one `joined` frame per room: after this the socket is in every
    /// room it was given. Returns the welcome and the joined frames too.
    pub async fn greeted(
        stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    ) -> (WsClient, Value, Vec<Value>) {
        let mut client = WsClient::raw(stream);
        let welcome = client
            .next_json(Duration::from_secs(5))
            .await
            .expect("welcome frame");
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let rooms = welcome["rooms"].as_array().expect("rooms").len();
        let mut joined = Vec::new();
        let mut other = std::collections::VecDeque::new();
        while joined.len() < rooms {
            let frame = client
                .next_json(Duration::from_secs(5))
                .await
                .expect("joined frame");
            if frame["type"] == "joined" {
                joined.push(frame);
            } else {
                // Events of a room already joined may come before another room's `joined`.
                other.push_back(frame);
            }
        }
        client.pending = other;
        (client, welcome, joined)
    }

    /// Sends a JSON text frame.
    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(
                value.to_string(),
            ))
            .await
            .expect("frame sent");
    }

    /// Sends any frame.
    pub async fn send(&mut self, message: tokio_tungstenite::tungstenite::Message) {
        self.stream.send(message).await.expect("frame sent");
    }

    /// Reads until the server closes; returns its close code (`None` if it just dropped).
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("the server closed in time");
            match frame {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next JSON text frame, or `None` if none arrives in time.
    pub async fn next_json(&mut self, wait: Duration) -> Option<Value> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(frame);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match frame.ok()? {
                tokio_tungstenite::tungstenite::Message::Text(text) => {
                    return Some(strict_json(&text));
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until one satisfies `pred` (returned with everything seen before it).
    pub async fn until(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_json(left).await {
                Some(v) => {
                    let hit = pred(&v);
                    seen.push(v);
                    if hit {
                        return seen;
                    }
                }
                None => panic!("no matching frame in time; saw {seen:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Parses a frame as `serde_json` does, but panics on an object that has the same key twice,
/// which `serde_json::Value` would silently collapse to the last one. Every frame a test reads
/// from a socket goes through here.
pub fn strict_json(text: &str) -> Value {
    match serde_json::from_str::<Strict>(text) {
        Ok(Strict(value)) => value,
        Err(e) => panic!("frame {text} is not strict JSON: {e}"),
    }
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
        }
        Ok(Value::Object(object))
    }
}

#[test]
fn the_strict_parser_refuses_a_key_given_twice() {
    assert_eq!(
        strict_json(r#"{"a":[1,{"b":null}]}"#),
        json!({"a": [1, {"b": null}]})
    );
    let twice = std::panic::catch_unwind(|| strict_json(r#"{"room":"x","seq":1,"room":"x"}"#));
    assert!(twice.is_err());
}
