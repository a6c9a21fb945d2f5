//! A socket's outbound side: the bounded queue its rooms write into without waiting, the mark
//! they leave when it is full, and the writes that empty it into the socket.
//!
//! A room's fan-out wakes thousands of socket tasks at once, so the path from the queue to the
//! socket is kept short: the frame's bytes are shared, not copied, and the task looks at its
//! other duties (the client's frames, pings) only once the queue is empty, or after a run of
//! events (see [`Outbox::next`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use belfry_actors::events::RoomEvent;
use belfry_actors::ports::EventSink;
use futures_util::SinkExt;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::upgrade::Socket;

/// Events in a row handed out before the session's other branches get a turn, so that a
/// constant backlog does not starve them.
const EVENT_TURNS: u32 = 16;

/// Most frames written before one flush, when several are waiting.
const COALESCE: usize = 64;

/// Why forwarding stopped.
pub enum Cut {
    /// The queue overflowed: the rooms have dropped this socket.
    TooSlow,
    /// The connection is gone.
    Gone,
}

/// A socket's end of its rooms: queues frames without waiting, and marks the socket too slow
/// when the queue is full.
struct SocketSink {
    queue: mpsc::Sender<RoomEvent>,
    overflow: Arc<Overflow>,
}

impl EventSink for SocketSink {
    fn deliver(&self, event: &RoomEvent) -> bool {
        match self.queue.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.trip();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Set once a room found the queue full. The rooms have dropped the socket by then, so it must
/// close: it would miss events without knowing.
#[derive(Default)]
struct Overflow {
    tripped: AtomicBool,
    /// Wakes a task waiting on a write that the client is not reading.
    wake: Notify,
}

impl Overflow {
    fn trip(&self) {
        self.tripped.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }
}

/// The socket task's end of the queue.
pub struct Outbox {
    queue: mpsc::Receiver<RoomEvent>,
    overflow: Arc<Overflow>,
    /// Events handed out since the session last did something else.
    turns: u32,
}

/// A queue of `capacity` frames: the sink the rooms deliver to, and the socket task's end.
pub fn outbox(capacity: usize) -> (Arc<dyn EventSink>, Outbox) {
    let (queue, receiver) = mpsc::channel(capacity);
    let overflow = Arc::new(Overflow::default());
    let sink = SocketSink {
        queue,
        overflow: Arc::clone(&overflow),
    };
    let outbox = Outbox {
        queue: receiver,
        overflow,
        turns: 0,
    };
    (Arc::new(sink), outbox)
}

impl Outbox {
    /// The next event, or `None` once every room has let go of the socket. After
    /// `EVENT_TURNS` events in a row it steps aside once (waking its task again at once), so
    /// that whatever the session polls after it gets a turn.
    pub fn next(&mut self) -> impl Future<Output = Option<RoomEvent>> + '_ {
        std::future::poll_fn(move |cx| {
            if self.turns >= EVENT_TURNS {
                self.turns = 0;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.queue.poll_recv(cx)
        })
    }

    /// The session did something else: the run of events starts again.
    pub fn other_turn(&mut self) {
        self.turns = 0;
    }

    /// Writes an event and whatever else is already waiting, then flushes once, rather than
    /// waiting on a flush after every frame of a backlog. A write the client does not make
    /// room for gives way when the queue overflows.
    pub async fn forward(&mut self, socket: &mut Socket, first: RoomEvent) -> Result<(), Cut> {
        if self.overflow.tripped() {
            return Err(Cut::TooSlow);
        }
        self.turns += 1;
        let queue = &mut self.queue;
        let writing = async {
            socket.feed(text_frame(&first)).await?;
            for _ in 1..COALESCE {
                match queue.try_recv() {
                    Ok(event) => socket.feed(text_frame(&event)).await?,
                    Err(_) => break,
                }
            }
            socket.flush().await
        };
        // Biased: the write nearly always finishes at once, and the overflow is then not
        // looked at.
        tokio::select! {
            biased;
            written = writing => written.map_err(|_| Cut::Gone),
            _ = self.overflow.wake.notified() => Err(Cut::TooSlow),
        }
    }
}

fn text_frame(event: &RoomEvent) -> Message {
    // A `RoomEvent` is built only from `String`s, so the check always passes.
    Message::Text(Utf8Bytes::try_from(event.to_bytes()).unwrap_or_default())
}
