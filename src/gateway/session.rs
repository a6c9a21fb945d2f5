//! One connection's task. It authenticates the socket (at the upgrade, or from its first
//! frame), puts it in its rooms, forwards room events to it, answers its frames, pings it, and
//! closes it with a documented code when it must (see docs/protocol.md).
//!
//! The socket's state is this task and its connection's `Wire`, which rooms write events into
//! directly; there is no actor per socket. The task writes what the kernel did not take at
//! once, and closes the socket when a room finds it too far behind.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use belfry_actors::ports::EventSink;
use belfry_actors::protocol::{
    ADMINS_ROOM, ClientFrame, Frame, PROTOCOL, church_admins_room, church_room, user_room,
};
use belfry_actors::rooms::ConnectionId;
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::close;
use super::frames::{self, FrameBudget, FrameError};
use super::heartbeat::first_ping_after;
use super::resume::{self, ResumePoints};
use super::upgrade::Socket;
use crate::adapters::socket_sink::WireSink;
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::server::Wire;
use crate::server::wire::Trouble;
use crate::state::AppState;
use crate::telemetry::throughput;

pub struct SessionStart {
    pub conn: ConnectionId,
    pub state: AppState,
    /// Where the connection comes from (for the connect limits of sockets that authenticate
    /// with a frame).
    pub client: Option<IpAddr>,
    /// The user, when the token came with the upgrade.
    pub auth: Option<AuthUser>,
    pub resume: ResumePoints,
}

/// Why the session ends: a close code and reason for the client, if any.
pub(super) type Ending = Option<(u16, &'static str)>;

/// The connection is gone: nothing more can be read or written.
pub(super) struct Gone;

/// How long the close frame may take to go out before the connection is dropped anyway: long
/// enough for a client that has stopped reading for a while to catch up and read it.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

pub(super) struct Session {
    pub(super) conn: ConnectionId,
    pub(super) state: AppState,
    pub(super) sink: Arc<WireSink>,
    wire: Arc<Wire>,
    pub(super) user: Option<AuthUser>,
    client: Option<IpAddr>,
    expires: Option<Instant>,
    /// Every room this socket is in: its own (church, user, admins) and chat channels joined.
    pub(super) rooms: Vec<String>,
    budget: FrameBudget,
    /// When the client was last heard from (any frame, pongs included).
    last_heard: Instant,
}

pub async fn run(mut socket: Socket, wire: Arc<Wire>, start: SessionStart) {
    let config = Arc::clone(&start.state.gateway);
    let _counted = start.state.metrics.socket_opened();
    let mut session = Session {
        conn: start.conn,
        sink: WireSink::shared(
            Arc::clone(&wire),
            config.outbound_queue,
            start.state.metrics.fanout(),
        ),
        wire,
        state: start.state,
        user: None,
        client: start.client,
        expires: None,
        rooms: Vec::new(),
        budget: FrameBudget::new(config.frames_per_second, config.frame_burst),
        last_heard: Instant::now(),
    };
    let mut shutdown = session.state.shutdown.clone();
    let stopping = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopping);

    let mut ending: Ending = None;
    if let Some(user) = start.auth
        && session
            .authenticated(user, start.resume, &mut socket)
            .await
            .is_err()
    {
        ending = Some((close::NORMAL, ""));
    }
    let auth_deadline = Instant::now() + config.auth_timeout;
    let mut ping = tokio::time::interval_at(
        Instant::now() + first_ping_after(config.ping_interval),
        config.ping_interval,
    );
    // One timer for the auth deadline, then the token's expiry: reset when it changes rather
    // than made anew for every frame.
    let mut armed = auth_deadline;
    let deadline_timer = tokio::time::sleep_until(armed);
    tokio::pin!(deadline_timer);
    while ending.is_none() {
        let deadline = match (&session.user, session.expires) {
            (None, _) => Some((auth_deadline, close::AUTH_TIMEOUT, "no auth frame in time")),
            (Some(_), Some(at)) => Some((at, close::TOKEN_EXPIRED, "token expired")),
            (Some(_), None) => None,
        };
        if let Some((at, _, _)) = deadline
            && at != armed
        {
            armed = at;
            deadline_timer.as_mut().reset(at);
        }
        // Rooms' frames first: writing what they left is what lets them write directly again.
        let outcome = tokio::select! {
            biased;
            trouble = session.attend() => ended_by(trouble),
            frame = socket.next() => session.on_message(frame, &mut socket).await,
            _ = ping.tick() => session.ping(config.idle_timeout, &mut socket).await,
            _ = &mut deadline_timer, if deadline.is_some() => {
                Ok(deadline.map(|(_, code, reason)| (code, reason)))
            }
            _ = &mut stopping => Ok(Some((close::GOING_AWAY, "server shutting down"))),
        };
        match outcome {
            Ok(end) => ending = end,
            Err(Gone) => break,
        }
    }
    session.leave_all();
    // Nothing may follow the close frame.
    session.wire.refuse_deliveries();
    if let Some((code, reason)) = ending {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let closing = async {
            let _ = socket.send(Message::Close(Some(frame))).await;
            let _ = socket.close(None).await;
        };
        // A client that reads nothing would hold the task forever.
        let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
    }
    tracing::debug!(conn = session.conn, "socket closed");
}

/// The rooms a socket is put in: its church's, its user's, and the admins' for admins.
fn rooms_of(user: &AuthUser) -> Vec<String> {
    let mut rooms = Vec::with_capacity(4);
    if let Some(church_id) = user.church_id {
        rooms.push(church_room(church_id));
    }
    rooms.push(user_room(user.user_id));
    if user.role >= Role::Admin {
        rooms.push(ADMINS_ROOM.to_owned());
        if let Some(church_id) = user.church_id {
            rooms.push(church_admins_room(church_id));
        }
    }
    rooms
}

fn ended_by(trouble: Trouble) -> Result<Ending, Gone> {
    match trouble {
        Trouble::Revoked => Ok(Some((close::AUTH_FAILED, "access revoked"))),
        Trouble::TooSlow => Ok(Some((close::TOO_SLOW, "too slow: events were piling up"))),
        Trouble::Gone => Err(Gone),
    }
}

/// A frame of the session's own as a text message.
fn text(frame: &Frame) -> Message {
    // Serialising the protocol's own types cannot fail.
    Message::text(serde_json::to_string(frame).unwrap_or_default())
}

fn expiry_instant(exp: i64) -> Instant {
    let left = exp - chrono::Utc::now().timestamp();
    Instant::now() + Duration::from_secs(left.max(0) as u64)
}

impl Session {
    /// The socket is authenticated: greet it and put it in its rooms.
    async fn authenticated(
        &mut self,
        user: AuthUser,
        mut resume: ResumePoints,
        socket: &mut Socket,
    ) -> Result<(), Trouble> {
        let exp = user.token.expires;
        let rooms = rooms_of(&user);
        let welcome = Frame::Welcome {
            protocol: PROTOCOL,
            connection_id: self.conn,
            user_id: user.user_id,
            church_id: user.church_id,
            rooms: rooms.clone(),
            expires_at: exp,
        };
        self.write(socket, text(&welcome)).await?;
        self.sink.count_for(
            self.state
                .metrics
                .throughput()
                .church(user.church_id.unwrap_or(throughput::PLATFORM)),
        );
        let directory = self.state.system.directory();
        for room in &rooms {
            let from = resume.remove(room);
            directory.join(
                room.clone(),
                self.conn,
                self.sink.clone() as Arc<dyn EventSink>,
                from,
            );
        }
        if let Some(church_id) = user.church_id {
            directory.connected(church_id, user.user_id);
        }
        self.state
            .auth
            .sockets
            .add(&user, self.conn, Arc::clone(&self.wire));
        tracing::debug!(conn = self.conn, user = user.user_id, "socket joined");
        self.rooms = rooms;
        self.user = Some(user);
        self.expires = Some(expiry_instant(exp));
        Ok(())
    }

    fn leave_all(&mut self) {
        let directory = self.state.system.directory();
        for room in self.rooms.drain(..) {
            directory.leave(room, self.conn);
        }
        if let Some(user) = &self.user {
            if let Some(church_id) = user.church_id {
                directory.disconnected(church_id, user.user_id);
            }
            self.state.auth.sockets.remove(user.user_id, self.conn);
        }
    }

    /// Answers what the client sent (or its going away).
    async fn on_message(
        &mut self,
        frame: Option<Result<Message, WsError>>,
        socket: &mut Socket,
    ) -> Result<Ending, Gone> {
        self.last_heard = Instant::now();
        Ok(match frame {
            // Boxed: handling a frame (a database call for chat) is a large future, and every
            // idle socket's task would otherwise carry room for it.
            Some(Ok(Message::Text(text))) => Box::pin(self.on_text(text.as_str(), socket)).await,
            Some(Ok(Message::Binary(_))) => {
                let error = FrameError::new("binary_frame", "frames are JSON text");
                self.refuse(&error, socket).await
            }
            Some(Ok(Message::Close(_))) => Some((close::NORMAL, "")),
            Some(Ok(_)) => None,
            Some(Err(error)) => match close::after_read_error(&error) {
                Some(ending) => {
                    tracing::debug!(conn = self.conn, %error, "unreadable client frame");
                    Some(ending)
                }
                None => return Err(Gone),
            },
            None => return Err(Gone),
        })
    }

    /// Pings the client, or gives up on one that has not answered for too long.
    async fn ping(&mut self, idle_timeout: Duration, socket: &mut Socket) -> Result<Ending, Gone> {
        if self.last_heard.elapsed() > idle_timeout {
            return Ok(Some((close::IDLE, "no pong")));
        }
        match self.write(socket, Message::Ping(Default::default())).await {
            Ok(()) => Ok(None),
            Err(trouble) => ended_by(trouble),
        }
    }

    /// Writes what rooms left in the socket's wire; ready only when there is trouble.
    fn attend(&self) -> impl Future<Output = Trouble> + '_ {
        std::future::poll_fn(|cx| self.wire.poll_attend(cx))
    }

    /// Sends one of the session's own frames. A client too slow for its rooms is not waited
    /// for: the rooms' frames come first, so the write would wait on them.
    async fn write(&self, socket: &mut Socket, message: Message) -> Result<(), Trouble> {
        tokio::select! {
            biased;
            sent = socket.send(message) => sent.map_err(|_| Trouble::Gone),
            trouble = self.attend() => Err(trouble),
        }
    }

    /// Sends one of the session's own frames; a failed write ends the session.
    pub(super) async fn send(&self, socket: &mut Socket, frame: &Frame) -> Ending {
        Self::answered(self.write(socket, text(frame)).await)
    }

    /// How a failed write of the session's own ends it.
    fn answered(written: Result<(), Trouble>) -> Ending {
        let trouble = written.err()?;
        ended_by(trouble).unwrap_or(Some((close::NORMAL, "")))
    }

    /// Answers a bad frame, closing the socket after too many in a row.
    pub(super) async fn refuse(&mut self, error: &FrameError, socket: &mut Socket) -> Ending {
        if self.budget.strike() {
            return Some((close::POLICY, "too many bad frames"));
        }
        Self::answered(self.write(socket, text(&error.to_frame())).await)
    }

    async fn on_text(&mut self, text: &str, socket: &mut Socket) -> Ending {
        if !self.budget.take() {
            let error = FrameError::new("rate_limited", "too many frames; slow down");
            return self.refuse(&error, socket).await;
        }
        let frame = match frames::parse(text) {
            Ok(frame) => frame,
            Err(error) => return self.refuse(&error, socket).await,
        };
        match frame {
            ClientFrame::Auth { token, resume } => self.on_auth(&token, resume, socket).await,
            _ if self.user.is_none() => {
                let error = FrameError::new("not_authenticated", "send an auth frame first");
                self.refuse(&error, socket).await
            }
            ClientFrame::Resume { rooms } => match resume::from_items(rooms) {
                Ok(points) => self.on_resume(points, socket).await,
                Err(message) => {
                    self.refuse(&FrameError::new("invalid_resume", message), socket)
                        .await
                }
            },
            ClientFrame::Ping { id } => {
                self.budget.forgive();
                self.send(socket, &Frame::Pong { id }).await
            }
            chat => self.on_chat(chat, socket).await,
        }
    }

    async fn on_auth(
        &mut self,
        token: &str,
        resume: Vec<belfry_actors::protocol::ResumeItem>,
        socket: &mut Socket,
    ) -> Ending {
        let user = match self.state.auth.authenticate(token).await {
            Ok(user) => user,
            Err(error) if error.status.is_server_error() => {
                return Some((close::TRY_AGAIN_LATER, "cannot check the account now"));
            }
            Err(_) => return Some((close::AUTH_FAILED, "invalid or expired token")),
        };
        let exp = user.token.expires;
        self.budget.forgive();
        match &self.user {
            None => {
                let limits = &self.state.limits;
                let policy = limits.config().ws_user.for_user(user.church_id, user.role);
                if limits.check_user(self.client, &user, policy).await.is_err() {
                    return Some((close::RATE_LIMITED, "too many connections; try again later"));
                }
                let points = match resume::from_items(resume) {
                    Ok(points) => points,
                    Err(message) => {
                        return self
                            .refuse(&FrameError::new("invalid_resume", message), socket)
                            .await;
                    }
                };
                match self.authenticated(user, points, socket).await {
                    Ok(()) => None,
                    Err(_) => Some((close::NORMAL, "")),
                }
            }
            // A fresh token for the same user keeps the socket open past the old expiry; the
            // socket's rooms stay those of the role it opened with.
            Some(current) if current.user_id == user.user_id && user.role >= current.role => {
                self.expires = Some(expiry_instant(exp));
                let sockets = &self.state.auth.sockets;
                sockets.remove(current.user_id, self.conn);
                let admitted = AuthUser {
                    role: current.role,
                    ..user
                };
                sockets.add(&admitted, self.conn, Arc::clone(&self.wire));
                self.user = Some(admitted);
                self.send(socket, &Frame::AuthOk { expires_at: exp }).await
            }
            Some(_) => Some((close::AUTH_FAILED, "a socket cannot change user")),
        }
    }

    /// A good frame clears the socket's record of bad ones.
    pub(super) fn forgive(&mut self) {
        self.budget.forgive();
    }

    /// Rejoins rooms from the given points: each room sends what was missed (or `reset`).
    /// Events already received live may come again; their `seq` tells them apart.
    async fn on_resume(&mut self, points: ResumePoints, socket: &mut Socket) -> Ending {
        if let Some(room) = points.keys().find(|r| !self.rooms.contains(r)) {
            let error = FrameError::new("not_in_room", format!("this socket is not in {room:?}"));
            return self.refuse(&error, socket).await;
        }
        self.budget.forgive();
        let directory = self.state.system.directory();
        for (room, from) in points {
            directory.leave(room.clone(), self.conn);
            directory.join(
                room,
                self.conn,
                self.sink.clone() as Arc<dyn EventSink>,
                Some(from),
            );
        }
        None
    }
}
