use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
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
    let claims = json!({
        "sub": "1", "churchId": 1, "role": "admin",
        "iat": now, "exp": now + exp_offset, "iss": "belfry", "aud": "belfry-api"
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
