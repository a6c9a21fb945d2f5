use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error;

use super::helpers::{JWT_SECRET, spawn_app};

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
async fn sockets_without_a_valid_token_are_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let base = app.url.replacen("http", "ws", 1);
    assert_eq!(refused_status(format!("{base}/ws")).await, 401);
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
    let (mut stream, _) = connect_async(app.ws_url(&token)).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    let welcome = stream.next().await.unwrap().unwrap().into_text().unwrap();
    let welcome: serde_json::Value = serde_json::from_str(&welcome).unwrap();
    assert_eq!(welcome["rooms"][0], format!("church:{}", app.grace.id));
    assert!(welcome["rooms"][1].as_str().unwrap().starts_with("user:"));
    stream.send("hello".into()).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let reply: serde_json::Value = serde_json::from_str(&reply.into_text().unwrap()).unwrap();
    assert_eq!(reply["type"], "error");
}
