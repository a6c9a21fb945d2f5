//! The WebSocket gateway: `GET /ws?token=JWT`.
//!
//! The token is checked before the upgrade (401 otherwise). A connection joins its church room
//! and its user room in the actor tree, then only forwards: room events out as text frames.
//! It holds no state of its own beyond its queue of outgoing frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use belfry_actors::delivery::breaker::ADMINS_ROOM;
use belfry_actors::events::{RoomEvent, church_room, user_room};
use belfry_actors::ports::EventSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};
use warp::reply::Response;
use warp::ws::{Message, WebSocket, Ws};
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::ApiError;
use crate::routes::with_state;

/// Frames a socket may have waiting before it counts as too slow and is closed.
const OUTBOX_CAPACITY: usize = 1024;
/// Close code for a client that cannot keep up (RFC 6455 "try again later").
const CLOSE_TOO_SLOW: u16 = 1013;
const CLOSE_GOING_AWAY: u16 = 1001;
const MAX_CLIENT_FRAME: usize = 64 * 1024;

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
}

pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("ws")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::query::<WsQuery>())
        .and_then(|state: AppState, query: WsQuery| async move {
            let token = query
                .token
                .ok_or_else(|| warp::reject::custom(ApiError::unauthorized("missing token")))?;
            let user = state
                .jwt
                .authenticate(&token)
                .map_err(warp::reject::custom)?;
            Ok::<_, Rejection>((state, user))
        })
        .untuple_one()
        .and(warp::ws())
        .map(|state: AppState, user: AuthUser, ws: Ws| {
            ws.max_message_size(MAX_CLIENT_FRAME)
                .max_frame_size(MAX_CLIENT_FRAME)
                .on_upgrade(move |socket| session(socket, state, user))
                .into_response()
        })
}

/// A socket's end of its rooms: queues frames without waiting, and asks the socket to close
/// when the queue is full.
struct SocketSink {
    outbox: mpsc::Sender<RoomEvent>,
    too_slow: Arc<Notify>,
}

impl EventSink for SocketSink {
    fn deliver(&self, event: &RoomEvent) -> bool {
        match self.outbox.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.too_slow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

async fn session(socket: WebSocket, state: AppState, user: AuthUser) {
    let conn = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let (outbox, mut inbox) = mpsc::channel::<RoomEvent>(OUTBOX_CAPACITY);
    let too_slow = Arc::new(Notify::new());
    let sink: Arc<dyn EventSink> = Arc::new(SocketSink {
        outbox,
        too_slow: Arc::clone(&too_slow),
    });
    let mut rooms = vec![church_room(user.church_id), user_room(user.user_id)];
    if user.role == Role::Admin {
        rooms.push(ADMINS_ROOM.to_owned());
    }
    let directory = Arc::clone(state.system.directory());
    for room in &rooms {
        directory.join(room.clone(), conn, Arc::clone(&sink));
    }
    drop(sink);
    tracing::debug!(conn, user = user.user_id, "socket joined");

    let (mut tx, mut rx) = socket.split();
    let welcome = serde_json::json!({
        "type": "welcome",
        "connectionId": conn,
        "userId": user.user_id,
        "churchId": user.church_id,
        "rooms": rooms,
    });
    let mut shutdown = state.shutdown.clone();
    let stopping = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopping);
    let mut close: Option<(u16, &str)> = None;
    if tx.send(Message::text(welcome.to_string())).await.is_ok() {
        loop {
            tokio::select! {
                event = inbox.recv() => match event {
                    Some(event) => {
                        if tx.send(Message::text(event.as_str())).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                frame = rx.next() => match frame {
                    Some(Ok(msg)) if msg.is_close() => break,
                    Some(Ok(msg)) if msg.is_text() => {
                        let error = serde_json::json!({
                            "type": "error",
                            "code": "unsupported",
                            "message": "this server accepts no client frames yet",
                        });
                        if tx.send(Message::text(error.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
                _ = too_slow.notified() => {
                    close = Some((CLOSE_TOO_SLOW, "too slow: events were piling up"));
                    break;
                }
                _ = &mut stopping => {
                    close = Some((CLOSE_GOING_AWAY, "server shutting down"));
                    break;
                }
            }
        }
    }
    for room in rooms {
        directory.leave(room, conn);
    }
    if let Some((code, reason)) = close {
        let _ = tx.send(Message::close_with(code, reason)).await;
    }
    let _ = tx.close().await;
    tracing::debug!(conn, "socket closed");
}
