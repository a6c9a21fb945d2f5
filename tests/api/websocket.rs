use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error;

use super::helpers::{JWT_SECRET, WsClient, spawn_app};

async fn refused_status(url: String) -> u16 {
    match connect_async(url).await {
        Err(Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the socket was accepted"),
    }
}

fn token_with(secret: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    // User 1 is the first church's admin.
    let claims = json!({
        "sub": "1", "churchId": 1, "role": "admin", "tokenVersion": 0, "jti": "t1",
        "iat": now, "nbf": now, "exp": now + exp_offset, "iss": "belfry", "aud": "belfry-api"
    });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sockets_with_an_invalid_token_are_refused_before_the_upgrade() {
    let app = spawn_app().await;
    assert_eq!(refused_status(app.ws_url("garbage")).await, 401);
    assert_eq!(
        refused_status(app.ws_url(&token_with("some-other-secret-0123456789abcdef", 600))).await,
        401
    );
    assert_eq!(
        refused_status(app.ws_url(&token_with(JWT_SECRET, -600))).await,
        401
    );
    let valid = token_with(JWT_SECRET, 600);
    let payload = valid.split('.').nth(1).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(
        refused_status(app.ws_url(&format!("{none_header}.{payload}."))).await,
        401
    );
    // The same claims, properly signed, are accepted: the refusals above are about the token.
    let (socket, _) = connect_async(app.ws_url(&valid))
        .await
        .expect("valid token connects");
    drop(socket);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_is_told_its_rooms_and_gets_an_error_frame_for_client_frames() {
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let (stream, _) = connect_async(app.ws_url(&token)).await.unwrap();
    let (mut socket, welcome, joined) = WsClient::greeted(stream).await;
    assert_eq!(welcome["protocol"], "belfry.v1");
    assert_eq!(welcome["rooms"][0], format!("church:{}", app.grace.id));
    assert!(welcome["rooms"][1].as_str().unwrap().starts_with("user:"));
    // Each room answers on its own, in no particular order between rooms.
    let church = joined
        .iter()
        .find(|j| j["room"] == welcome["rooms"][0])
        .expect("joined the church room");
    assert_eq!(church["seq"], 0);
    assert!(church["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    socket
        .send(tokio_tungstenite::tungstenite::Message::text("hello"))
        .await;
    let reply = socket
        .until(Duration::from_secs(5), |f| f["type"] == "error")
        .await
        .pop()
        .unwrap();
    assert_eq!(reply["code"], "invalid_json");
}

/// A socket upgraded by hand, so that the test can write frames no client library would.
async fn raw_socket(url: &str, token: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /ws?token={token} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Reads the server's (unmasked) frames until its close; returns the close code.
async fn close_code_of(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await.ok()?;
        let len = match header[1] & 0x7f {
            126 => u64::from(stream.read_u16().await.ok()?),
            127 => stream.read_u64().await.ok()?,
            short => u64::from(short),
        };
        let mut payload = vec![0; len as usize];
        stream.read_exact(&mut payload).await.ok()?;
        if header[0] & 0x0f == 0x8 {
            return Some(u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
}

/// A client frame: FIN, `first` byte's other bits as given, masked unless `mask` is false.
fn client_frame(first: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![first, payload.len() as u8 | if mask { 0x80 } else { 0 }];
    if mask {
        frame.extend(key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        frame.extend(payload);
    }
    frame
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_that_break_the_websocket_protocol_are_answered_with_1002_or_1007() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let token = app.login(&app.grace.staff_email).await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        ("an unmasked frame", client_frame(0x81, b"hi", false), 1002),
        (
            "text that is not UTF-8",
            client_frame(0x81, &[0xff, 0xfe], true),
            1007,
        ),
        ("a reserved bit", client_frame(0xC1, b"a", true), 1002),
        ("an unknown opcode", client_frame(0x83, b"", true), 1002),
    ];
    for (what, frame, expected) in cases {
        let mut stream = raw_socket(&app.url, &token).await;
        stream.write_all(&frame).await.unwrap();
        let code = tokio::time::timeout(Duration::from_secs(5), close_code_of(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("{what}: no close in time"));
        assert_eq!(code, Some(expected), "{what}");
    }
}

/// Measured before: connections that sent nothing, or half a request line, stayed open for
/// ever, and one host's ~21,000 of them took every file descriptor the server had.
#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_half_open_connections_from_one_host_do_not_stop_anyone_else() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = super::helpers::spawn_app_with(&[
        ("BELFRY_HTTP_HEAD_TIMEOUT_MS", "1500"),
        ("BELFRY_MAX_PENDING_PER_ADDRESS", "256"),
    ])
    .await;
    let server: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let mut half_open = Vec::new();
    for _ in 0..3000 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut stream = socket.connect(server).await.unwrap();
        let _ = stream.write_all(b"GET /health HT").await;
        half_open.push(stream);
    }
    // Meanwhile, from another address: sign in, open a socket, send a message.
    let token = app.login(&app.grace.staff_email).await;
    let mut socket = app.connect(&token).await;
    let id = app.send(&token, &app.grace.member_ids[..1]).await;
    socket
        .until(Duration::from_secs(10), |f| f["messageId"] == id)
        .await;
    // Every half-open connection is closed: at once past the address's cap, or when its
    // request head is late.
    let closed_by = tokio::time::Instant::now() + Duration::from_secs(5);
    for stream in &mut half_open {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout_at(closed_by, stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "a connection without a whole request was still open: {read:?}"
        );
    }
}

/// A flood of connections fills the server to its cap: the places it keeps in reserve still
/// let an operator check health, sign in and use the admin views; other requests are told the
/// server is busy; once the flood ends, everything answers again.
#[tokio::test(flavor = "multi_thread")]
async fn at_the_connection_cap_the_reserve_still_serves_health_sign_in_and_admin() {
    use tokio::io::AsyncReadExt;
    let app = super::helpers::spawn_app_with(&[
        ("BELFRY_MAX_CONNECTIONS", "120"),
        ("BELFRY_CONNECTION_RESERVE", "20"),
        ("BELFRY_HTTP_HEAD_TIMEOUT_MS", "30000"),
    ])
    .await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    let server: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    let mut flood = Vec::new();
    for _ in 0..140 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        flood.push(socket.connect(server).await.unwrap());
    }
    // Past the normal places, the flood's connections are closed at once.
    let mut closed = 0;
    for stream in &mut flood {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await;
        if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert!(
        closed >= 40,
        "only {closed} of the flood's connections were closed"
    );

    // Each request on a connection of its own, as a newcomer would.
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let health = fresh()
        .get(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let login = fresh()
        .post(format!("{}/api/auth/login", app.url))
        .json(&json!({"email": app.grace.admin_email, "password": super::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let breaker = fresh()
        .get(format!("{}/api/admin/breaker", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(breaker.status(), 200);
    let busy = fresh()
        .get(format!("{}/api/members", app.url))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["error"]["code"], "server_busy");

    drop(flood);
    let mut status = 0;
    for _ in 0..100 {
        let members = fresh()
            .get(format!("{}/api/members", app.url))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        status = members.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        status, 200,
        "the server never answered again after the flood"
    );
}
