//! A fake Telnyx on loopback: records every `POST /v2/messages`, answers in API v2 shapes, can
//! be told to fail or hang, and signs webhooks with its own Ed25519 key the way Telnyx does.
//! Like Telnyx it keeps each accepted message's record for `GET /v2/messages/{id}`; a test
//! moves a record's status on, as the carrier would, with [`FakeTelnyx::set_status`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use warp::Filter;
use warp::http::StatusCode;

pub const API_KEY: &str = "KEYtest0123456789";

#[derive(Debug, Clone)]
pub enum Reply {
    Accept,
    /// 429 with code 10011 and an `x-ratelimit-reset` header, in seconds.
    RateLimited {
        reset_secs: u64,
    },
    Fail {
        status: u16,
        code: &'static str,
        title: &'static str,
    },
    Hang,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: std::time::Instant,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    latency: Duration,
    /// Each accepted message's record, as `GET /v2/messages/{id}` answers it.
    records: HashMap<String, Value>,
    /// The ids looked up, in order.
    lookups: Vec<String>,
    /// What every look-up answers instead of the record, when set.
    lookup_failure: Option<Reply>,
}

#[derive(Clone)]
pub struct FakeTelnyx {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    key: Arc<SigningKey>,
    http: reqwest::Client,
}

impl FakeTelnyx {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let route_state = Arc::clone(&state);
        let route = warp::path!("v2" / "messages")
            .and(warp::post())
            .and(warp::header::optional::<String>("authorization"))
            .and(warp::body::json::<Value>())
            .then(move |auth: Option<String>, body: Value| {
                let state = Arc::clone(&route_state);
                async move { answer(&state, auth, body).await }
            });
        let lookup_state = Arc::clone(&state);
        let lookup = warp::path!("v2" / "messages" / String)
            .and(warp::get())
            .and(warp::header::optional::<String>("authorization"))
            .map(move |id: String, auth: Option<String>| look_up(&lookup_state, id, auth));
        let route = route.or(lookup).unify();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        let seed: [u8; 32] = rand::random();
        Self {
            addr,
            state,
            key: Arc::new(SigningKey::from_bytes(&seed)),
            http: reqwest::Client::new(),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn public_key_base64(&self) -> String {
        BASE64.encode(self.key.verifying_key().to_bytes())
    }

    /// The next replies, in order; after them the default (accept).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn always(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }

    /// How long each answer takes.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Moves an accepted message's record on, as the carrier's delivery would.
    pub fn set_status(&self, message_id: &str, status: &str, errors: Value) {
        let mut s = self.state.lock().unwrap();
        let record = s
            .records
            .get_mut(message_id)
            .expect("a message the fake accepted");
        record["to"][0]["status"] = json!(status);
        record["errors"] = errors;
    }

    /// The message ids looked up so far, in order.
    pub fn lookups(&self) -> Vec<String> {
        self.state.lock().unwrap().lookups.clone()
    }

    /// Every look-up from now on answers this failure (`None`: the records again).
    pub fn fail_lookups(&self, failure: Option<Reply>) {
        self.state.lock().unwrap().lookup_failure = failure;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub async fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        for _ in 0..500 {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "fake Telnyx saw {} requests, expected {n}",
            self.requests().len()
        );
    }

    /// Signs `"{timestamp}|{body}"` like Telnyx.
    pub fn sign(&self, timestamp: i64, body: &str) -> String {
        BASE64.encode(
            self.key
                .sign(format!("{timestamp}|{body}").as_bytes())
                .to_bytes(),
        )
    }

    pub fn event(
        event_id: &str,
        event_type: &str,
        message_id: &str,
        to: &str,
        status: &str,
        errors: Value,
    ) -> String {
        json!({
            "data": {
                "record_type": "event",
                "event_type": event_type,
                "id": event_id,
                "occurred_at": "2026-11-23T10:00:00.000+00:00",
                "payload": {
                    "record_type": "message",
                    "direction": "outbound",
                    "id": message_id,
                    "type": "SMS",
                    "from": {"phone_number": "+15550001111", "carrier": "Telnyx", "line_type": "Wireless"},
                    "to": [{"phone_number": to, "status": status, "carrier": "T-Mobile USA", "line_type": "Wireless"}],
                    "text": "hello",
                    "errors": errors
                }
            },
            "meta": {"attempt": 1, "delivered_to": "http://belfry/webhooks/telnyx"}
        })
        .to_string()
    }

    /// An inbound SMS from a member to the platform's number, as Telnyx reports it.
    pub fn inbound(event_id: &str, from: &str, text: &str) -> String {
        Self::inbound_to(event_id, from, "+15550001111", text)
    }

    /// An inbound SMS from `from` to our number `to`.
    pub fn inbound_to(event_id: &str, from: &str, to: &str, text: &str) -> String {
        json!({
            "data": {
                "record_type": "event",
                "event_type": "message.received",
                "id": event_id,
                "occurred_at": "2026-11-23T10:00:00.000+00:00",
                "payload": {
                    "record_type": "message",
                    "direction": "inbound",
                    "id": format!("in-{event_id}"),
                    "type": "SMS",
                    "from": {"phone_number": from, "carrier": "T-Mobile USA", "line_type": "Wireless"},
                    "to": [{"phone_number": to, "status": "webhook_delivered", "carrier": "Telnyx", "line_type": "Wireless"}],
                    "text": text,
                    "errors": []
                }
            },
            "meta": {"attempt": 1, "delivered_to": "http://belfry/webhooks/telnyx"}
        })
        .to_string()
    }

    /// Posts a signed webhook to the app, as Telnyx would.
    pub async fn post_webhook(&self, app_url: &str, body: &str) -> reqwest::Response {
        let now = chrono::Utc::now().timestamp();
        self.post_webhook_signed(app_url, body, now, &self.sign(now, body))
            .await
    }

    pub async fn post_webhook_signed(
        &self,
        app_url: &str,
        body: &str,
        timestamp: i64,
        signature: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{app_url}/webhooks/telnyx"))
            .header("content-type", "application/json")
            .header("telnyx-timestamp", timestamp.to_string())
            .header("telnyx-signature-ed25519", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}

fn look_up(state: &Mutex<State>, id: String, auth: Option<String>) -> warp::reply::Response {
    use warp::Reply as _;
    let mut s = state.lock().unwrap();
    s.lookups.push(id.clone());
    let failure = if auth.as_deref() != Some(&format!("Bearer {API_KEY}")) {
        Some((401, "10009", "Authentication failed"))
    } else {
        match s.lookup_failure {
            Some(Reply::Fail {
                status,
                code,
                title,
            }) => Some((status, code, title)),
            _ => None,
        }
    };
    let answer = match (failure, s.records.get(&id)) {
        (Some(failure), _) => Err(failure),
        (None, Some(record)) => Ok(json!({"data": record})),
        (None, None) => Err((404, "10005", "Resource not found")),
    };
    match answer {
        Ok(data) => warp::reply::json(&data).into_response(),
        Err((status, code, title)) => {
            let data = json!({"errors": [{"code": code, "title": title, "detail": format!("fake Telnyx says {title}")}]});
            warp::reply::with_status(
                warp::reply::json(&data),
                StatusCode::from_u16(status).unwrap(),
            )
            .into_response()
        }
    }
}

async fn answer(state: &Mutex<State>, auth: Option<String>, body: Value) -> warp::reply::Response {
    use warp::Reply as _;
    let (reply, latency) = {
        let mut s = state.lock().unwrap();
        let scripted = s.script.pop_front();
        let reply = scripted
            .or_else(|| s.default.clone())
            .unwrap_or(Reply::Accept);
        (reply, s.latency)
    };
    let authorized = auth.as_deref() == Some(&format!("Bearer {API_KEY}"));
    let reply = if authorized {
        reply
    } else {
        Reply::Fail {
            status: 401,
            code: "10009",
            title: "Authentication failed",
        }
    };
    let message_id = matches!(reply, Reply::Accept).then(|| {
        let b: [u8; 16] = rand::random();
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "40{}-{}-{}-{}-{}",
            &hex[2..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    });
    // Recorded on arrival: a request whose answer never reaches Belfry was still received.
    state.lock().unwrap().requests.push(Recorded {
        at: std::time::Instant::now(),
        authorization: auth,
        body: body.clone(),
    });
    tokio::time::sleep(latency).await;
    match reply {
        Reply::Accept => {
            let data = json!({"data": {
                "record_type": "message",
                "direction": "outbound",
                "id": message_id,
                "type": "SMS",
                "from": {"phone_number": body["from"], "carrier": "Telnyx", "line_type": "Wireless"},
                "to": [{"phone_number": body["to"], "status": "queued", "carrier": "T-Mobile USA", "line_type": "Wireless"}],
                "text": body["text"],
                "parts": 1,
                "encoding": "GSM-7",
                "cost": {"amount": "0.0040", "currency": "USD"},
                "received_at": "2026-11-23T10:00:00.000+00:00",
                "sent_at": null,
                "completed_at": null,
                "valid_until": "2026-11-23T14:00:00.000+00:00",
                "errors": [],
                "webhook_url": body["webhook_url"],
            }});
            let id = message_id.clone().unwrap_or_default();
            state
                .lock()
                .unwrap()
                .records
                .insert(id, data["data"].clone());
            warp::reply::json(&data).into_response()
        }
        Reply::Fail {
            status,
            code,
            title,
        } => {
            let data = json!({"errors": [{"code": code, "title": title, "detail": format!("fake Telnyx says {title}")}]});
            warp::reply::with_status(
                warp::reply::json(&data),
                StatusCode::from_u16(status).unwrap(),
            )
            .into_response()
        }
        Reply::RateLimited { reset_secs } => {
            let data = json!({"errors": [{"code": "10011", "title": "Too many requests", "detail": "You have exceeded the rate limit"}]});
            let reply =
                warp::reply::with_status(warp::reply::json(&data), StatusCode::TOO_MANY_REQUESTS);
            let reply = warp::reply::with_header(reply, "x-ratelimit-limit", "20");
            let reply = warp::reply::with_header(reply, "x-ratelimit-remaining", "0");
            warp::reply::with_header(reply, "x-ratelimit-reset", reset_secs.to_string())
                .into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            warp::reply().into_response()
        }
    }
}
