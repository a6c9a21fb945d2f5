//! The belfry.v1 socket protocol over real sockets: the ways to authenticate, the Origin
//! check, token expiry, numbered events and resume, heartbeats, and frame validation.

use std::time::Duration;

use belfry_actors::protocol::{ChatMessageEvent, RoomEvent, church_room};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::helpers::{TestApp, WsClient, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(5);

fn ws_base(app: &TestApp) -> String {
    format!("{}/ws", app.url.replacen("http", "ws", 1))
}

async fn open(url: &str) -> WsClient {
    let (stream, _) = connect_async(url).await.expect("socket opens");
    WsClient::raw(stream)
}

async fn next_error(socket: &mut WsClient) -> Value {
    socket
        .until(WAIT, |f| f["type"] == "error")
        .await
        .pop()
        .unwrap()
}

/// The type of the test events published below; their `id` is their number.
const TEST: &str = "chat:message";

fn test_event(n: u64, body: &str) -> RoomEvent {
    RoomEvent::ChatMessage(ChatMessageEvent {
        id: n as i64,
        body: body.to_owned(),
        ..Default::default()
    })
}

fn publish(app: &TestApp, n: u64) {
    app.state
        .system
        .directory()
        .publish(church_room(app.grace.id), test_event(n, ""));
}

/// Publishes `count` test events of 16 KiB each, in bursts of 20: `2000` is about 32 MB, more
/// than the loopback socket buffers hold for a client that reads nothing.
async fn publish_padded(app: &TestApp, count: u64) {
    let padding = "x".repeat(16 * 1024);
    for n in 1..=count {
        app.state
            .system
            .directory()
            .publish(church_room(app.grace.id), test_event(n, &padding));
        if n % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Reads test events until one with `n == last`; returns their `n`s and `seq`s.
async fn tests_until(socket: &mut WsClient, last: u64) -> (Vec<u64>, Vec<u64>) {
    let frames = socket
        .until(WAIT, |f| f["type"] == TEST && f["id"] == last)
        .await;
    let tests: Vec<&Value> = frames.iter().filter(|f| f["type"] == TEST).collect();
    (
        tests.iter().map(|f| f["id"].as_u64().unwrap()).collect(),
        tests.iter().map(|f| f["seq"].as_u64().unwrap()).collect(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_in_the_subprotocol_header_is_accepted_and_the_protocol_named() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut request = ws_base(&app).into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("belfry.v1, bearer.{token}")).unwrap(),
    );
    let (stream, response) = connect_async(request).await.expect("upgraded");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "belfry.v1",
        "the server picks belfry.v1"
    );
    let (_, welcome, _) = WsClient::greeted(stream).await;
    assert_eq!(welcome["churchId"], app.grace.id);

    // A client that does not offer belfry.v1 is refused.
    let mut request = ws_base(&app).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("chat"));
    match connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_first_frame_authenticates_and_nothing_comes_before_it() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = open(&ws_base(&app)).await;
    publish(&app, 1);
    assert_eq!(
        socket.next_json(Duration::from_millis(300)).await,
        None,
        "nothing before auth"
    );
    socket.send_json(json!({"type": "ping"})).await;
    let refused = socket.next_json(WAIT).await.unwrap();
    assert_eq!(refused["code"], "not_authenticated");

    socket
        .send_json(json!({"type": "auth", "token": token}))
        .await;
    let welcome = socket.next_json(WAIT).await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["churchId"], app.grace.id);
    socket
        .until(WAIT, |f| {
            f["type"] == "joined" && f["room"] == church_room(app.grace.id)
        })
        .await;
    publish(&app, 2);
    let (ns, _) = tests_until(&mut socket, 2).await;
    assert_eq!(ns, vec![2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_auth_frame_in_time_or_a_bad_one_closes_with_its_code() {
    let app = spawn_app_with(&[("BELFRY_WS_AUTH_TIMEOUT_MS", "300")]).await;
    let mut silent = open(&ws_base(&app)).await;
    assert_eq!(silent.close_code(WAIT).await, Some(4001));

    let mut wrong = open(&ws_base(&app)).await;
    wrong
        .send_json(json!({"type": "auth", "token": "not-a-token"}))
        .await;
    assert_eq!(wrong.close_code(WAIT).await, Some(4003));
}

#[tokio::test(flavor = "multi_thread")]
async fn origins_outside_the_allowlist_are_refused() {
    let app = spawn_app_with(&[(
        "BELFRY_WS_ALLOWED_ORIGINS",
        "https://app.example.org, https://staff.example.org",
    )])
    .await;
    let token = app.login(&app.grace.staff_email).await;
    let with_origin = |origin: &'static str| {
        let mut request = app.ws_url(&token).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_static(origin));
        request
    };
    match connect_async(with_origin("https://evil.example.net")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "origin_not_allowed");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    connect_async(with_origin("https://staff.example.org"))
        .await
        .expect("an allowed origin connects");
    // Not a browser: no Origin header at all.
    connect_async(app.ws_url(&token))
        .await
        .expect("a client without an origin connects");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_token_closes_the_socket_unless_a_fresh_one_was_sent() {
    let app = spawn_app_with(&[("BELFRY_JWT_TTL_SECS", "2")]).await;
    let stale = app.login(&app.grace.staff_email).await;
    let mut expiring = app.connect(&stale).await;
    let mut refreshed = app.connect(&stale).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = app.login(&app.grace.staff_email).await;
    refreshed
        .send_json(json!({"type": "auth", "token": fresh}))
        .await;
    let ok = refreshed
        .until(WAIT, |f| f["type"] == "auth:ok")
        .await
        .pop()
        .unwrap();
    assert_eq!(ok["type"], "auth:ok");
    assert_eq!(expiring.close_code(WAIT).await, Some(4004));
    // The refreshed socket outlives the first token, then expires with the second.
    publish(&app, 1);
    let (ns, _) = tests_until(&mut refreshed, 1).await;
    assert_eq!(ns, vec![1]);
    assert_eq!(refreshed.close_code(WAIT).await, Some(4004));

    // A token for someone else cannot take a socket over.
    let mut socket = app.connect(&app.login(&app.grace.staff_email).await).await;
    let admin = app.login(&app.grace.admin_email).await;
    socket
        .send_json(json!({"type": "auth", "token": admin}))
        .await;
    assert_eq!(socket.close_code(WAIT).await, Some(4003));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_carry_the_room_its_epoch_and_consecutive_seqs() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let (stream, _) = connect_async(app.ws_url(&token)).await.unwrap();
    let (mut socket, _, joined) = WsClient::greeted(stream).await;
    let room = church_room(app.grace.id);
    let joined = joined.iter().find(|j| j["room"] == room).unwrap().clone();
    for n in 1..=5 {
        publish(&app, n);
    }
    let frames = socket
        .until(WAIT, |f| f["type"] == TEST && f["id"] == 5)
        .await;
    // Every numbered frame of the room (the test events, and e.g. presence changes).
    let numbered: Vec<&Value> = frames
        .iter()
        .filter(|f| f["room"] == room.as_str() && f["seq"].is_u64())
        .collect();
    assert!(numbered.iter().all(|f| f["epoch"] == joined["epoch"]));
    let seqs: Vec<u64> = numbered
        .iter()
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    let start = joined["seq"].as_u64().unwrap();
    assert_eq!(
        seqs,
        (start + 1..=start + seqs.len() as u64).collect::<Vec<_>>()
    );
    let ns: Vec<u64> = numbered.iter().filter_map(|f| f["id"].as_u64()).collect();
    assert_eq!(ns, vec![1, 2, 3, 4, 5]);
}

/// Connects, sees events 1..=3, leaves; 4..=6 are published while away.
async fn left_after_three(app: &TestApp, token: &str) -> (String, u64) {
    let (stream, _) = connect_async(app.ws_url(token)).await.unwrap();
    let (mut socket, _, joined) = WsClient::greeted(stream).await;
    let room = church_room(app.grace.id);
    let epoch = joined.iter().find(|j| j["room"] == room).unwrap()["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 1..=3 {
        publish(app, n);
    }
    let (_, seqs) = tests_until(&mut socket, 3).await;
    socket.close().await;
    // Wait until the room has seen it leave, so 4..=6 are published in its absence.
    let directory = app.state.system.directory();
    for _ in 0..100 {
        if directory.room_members(&room).await.ok() == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for n in 4..=6 {
        publish(app, n);
    }
    (epoch, *seqs.last().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_gets_exactly_the_missed_events_in_order_then_live_ones() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let (epoch, last_seq) = left_after_three(&app, &token).await;
    let room = church_room(app.grace.id);
    let url = format!("{}&resume={room}:{epoch}:{last_seq}", app.ws_url(&token));
    let mut socket = open(&url).await;
    let welcome = socket.next_json(WAIT).await.unwrap();
    assert_eq!(welcome["type"], "welcome");
    let resumed = socket
        .until(WAIT, |f| {
            f["type"] == "resumed" && f["room"] == room.as_str()
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(resumed["missed"], 3);
    assert_eq!(resumed["from"], last_seq);
    let (ns, seqs) = tests_until(&mut socket, 6).await;
    assert_eq!(ns, vec![4, 5, 6], "exactly the missed ones, no duplicates");
    assert_eq!(seqs, vec![last_seq + 1, last_seq + 2, last_seq + 3]);
    publish(&app, 7);
    let (ns, seqs) = tests_until(&mut socket, 7).await;
    assert_eq!((ns, seqs), (vec![7], vec![last_seq + 4]));

    // Resuming from the present misses nothing.
    let url = format!(
        "{}&resume={room}:{epoch}:{}",
        app.ws_url(&token),
        last_seq + 4
    );
    let mut again = open(&url).await;
    let resumed = again
        .until(WAIT, |f| {
            f["type"] == "resumed" && f["room"] == room.as_str()
        })
        .await
        .pop()
        .unwrap();
    assert_eq!(resumed["missed"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_whose_history_is_gone_gets_a_reset() {
    let app = spawn_app_with(&[("BELFRY_WS_HISTORY_SIZE", "2")]).await;
    let token = app.login(&app.grace.staff_email).await;
    let (epoch, last_seq) = left_after_three(&app, &token).await;
    let room = church_room(app.grace.id);
    // Three were missed but only two are kept.
    let url = format!("{}&resume={room}:{epoch}:{last_seq}", app.ws_url(&token));
    let mut socket = open(&url).await;
    let reset = socket
        .until(WAIT, |f| f["room"] == room.as_str())
        .await
        .pop()
        .unwrap();
    assert_eq!(reset["type"], "reset");
    assert_eq!(reset["seq"], last_seq + 3, "the present, to continue from");

    // Another epoch (the room's history was lost) is a reset too.
    let url = format!("{}&resume={room}:someotherepoch:1", app.ws_url(&token));
    let mut socket = open(&url).await;
    let reset = socket
        .until(WAIT, |f| f["room"] == room.as_str())
        .await
        .pop()
        .unwrap();
    assert_eq!(reset["type"], "reset");

    // A malformed resume is refused before the upgrade.
    match connect_async(format!("{}&resume=church:1", app.ws_url(&token))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_frame_replays_what_was_missed_on_an_open_socket() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let (stream, _) = connect_async(app.ws_url(&token)).await.unwrap();
    let (mut socket, _, joined) = WsClient::greeted(stream).await;
    let room = church_room(app.grace.id);
    let joined = joined.iter().find(|j| j["room"] == room).unwrap().clone();
    for n in 1..=3 {
        publish(&app, n);
    }
    let (_, seqs) = tests_until(&mut socket, 3).await;
    // Resume from event 1: events 2 and 3 (and anything else numbered since) come again.
    let from = seqs[0];
    socket
        .send_json(json!({"type": "resume", "rooms": [
            {"room": room, "epoch": joined["epoch"], "seq": from}
        ]}))
        .await;
    let resumed = socket
        .until(WAIT, |f| f["type"] == "resumed")
        .await
        .pop()
        .unwrap();
    assert!(resumed["missed"].as_u64().unwrap() >= 2);
    let (ns, _) = tests_until(&mut socket, 3).await;
    assert_eq!(ns, vec![2, 3]);
    socket
        .send_json(
            json!({"type": "resume", "rooms": [{"room": "church:999", "epoch": "e", "seq": 1}]}),
        )
        .await;
    let refused = socket
        .until(WAIT, |f| f["type"] == "error")
        .await
        .pop()
        .unwrap();
    assert_eq!(refused["code"], "not_in_room");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_answers_pings_is_closed_and_one_that_does_stays() {
    let app = spawn_app_with(&[
        ("BELFRY_WS_PING_MS", "100"),
        ("BELFRY_WS_IDLE_TIMEOUT_MS", "400"),
    ])
    .await;
    let token = app.login(&app.grace.staff_email).await;
    let mut deaf = app.connect(&token).await;
    let mut alive = app.connect(&token).await;
    // The deaf client reads nothing, so it answers no ping; the other keeps reading (and so
    // answers every ping).
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1000) {
        if let Some(frame) = alive.next_json(Duration::from_millis(50)).await {
            assert_eq!(frame["type"], "presence:changed", "{frame}");
        }
    }
    // Reading now, the deaf client answers the queued pings into a closed connection, which
    // may reset it before the close frame (4000) is read; either way the server ended it (a
    // socket still open would time out here).
    let code = deaf.close_code(WAIT).await;
    assert!(matches!(code, Some(4000) | None), "{code:?}");
    publish(&app, 1);
    let (ns, _) = tests_until(&mut alive, 1).await;
    assert_eq!(ns, vec![1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_frames_get_error_frames_and_abuse_closes_the_socket() {
    let app = spawn_app_with(&[
        ("BELFRY_WS_FRAMES_PER_SEC", "5"),
        ("BELFRY_WS_FRAME_BURST", "5"),
    ])
    .await;
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    socket.send(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(next_error(&mut socket).await["code"], "binary_frame");
    socket.send_json(json!({"type": "dance"})).await;
    assert_eq!(next_error(&mut socket).await["code"], "unknown_type");
    socket.send_json(json!({"type": "ping", "id": 7})).await;
    let pong = socket
        .until(WAIT, |f| f["type"] == "pong")
        .await
        .pop()
        .unwrap();
    assert_eq!(
        (pong["type"].clone(), pong["id"].clone()),
        (json!("pong"), json!(7))
    );
    // Over the rate: refused, then closed after ten strikes in a row.
    for _ in 0..12 {
        socket.send_json(json!({"type": "ping"})).await;
    }
    let mut codes = Vec::new();
    while let Some(frame) = socket.next_json(WAIT).await {
        codes.push(frame["code"].as_str().unwrap_or("pong").to_owned());
    }
    assert!(codes.contains(&"rate_limited".to_owned()), "{codes:?}");

    let mut big = app.connect(&token).await;
    let huge = format!(
        "{{\"type\":\"ping\",\"id\":\"{}\"}}",
        "x".repeat(belfry::gateway::MAX_CLIENT_MESSAGE)
    );
    big.send(Message::text(huge)).await;
    assert_eq!(big.close_code(WAIT).await, Some(1009));

    let mut abusive = app.connect(&token).await;
    for _ in 0..10 {
        abusive.send(Message::text("not json")).await;
    }
    assert_eq!(abusive.close_code(WAIT).await, Some(1008));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_consumer_is_cut_off_without_slowing_the_room() {
    let app = spawn_app_with(&[("BELFRY_WS_QUEUE", "64")]).await;
    let token = app.login(&app.grace.staff_email).await;
    let mut slow = app.connect(&token).await;
    let mut reader = app.connect(&token).await;
    let sent = 2000;
    let reading = tokio::spawn(async move {
        let frames = reader
            .until(Duration::from_secs(30), |f| {
                f["type"] == TEST && f["id"] == sent
            })
            .await;
        frames.iter().filter(|f| f["type"] == TEST).count()
    });
    publish_padded(&app, sent).await;
    assert_eq!(
        reading.await.unwrap(),
        sent as usize,
        "the reader got everything"
    );
    assert_eq!(slow.close_code(Duration::from_secs(30)).await, Some(1013));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_reads_nothing_is_let_go_without_reading_its_close() {
    let app = spawn_app_with(&[
        ("BELFRY_WS_QUEUE", "64"),
        ("BELFRY_PRESENCE_GRACE_MS", "100"),
    ])
    .await;
    let token = app.login(&app.grace.staff_email).await;
    let user = app.user_id(&token);
    let directory = app.state.system.directory();
    let online = async || directory.online(app.grace.id).await.unwrap_or_default();
    // Held open to the end and never read from again.
    let _stuck = app.connect(&token).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !online().await.contains(&user) {
        assert!(tokio::time::Instant::now() < deadline, "never online");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The socket buffers fill, then the server's write waits on the client.
    publish_padded(&app, 2000).await;
    // The session ended (its user went offline) while the client still reads nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while online().await.contains(&user) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck socket's session never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
