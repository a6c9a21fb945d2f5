//! A connection's TCP stream, shared by the task that owns the connection (hyper, then the
//! WebSocket session once it is upgraded) and the rooms that write events into it.
//!
//! A room's fan-out writes the same frame to thousands of sockets. Handing each one to its
//! socket's task (a queue push, a wake-up, a poll, a framing) costs more than the write itself,
//! so a room writes the frame straight into the stream when nothing is waiting to go out
//! before it. Only what the kernel does not take at once is kept here, in order, for the
//! owning task to write when the socket is writable again.
//!
//! Whole writes stay whole: whatever either side started to write is taken entirely (the rest
//! kept here), so a room's frame never lands inside a frame the owner was writing, or the
//! reverse. The owner's writes wait while anything is kept; a room's frames are kept up to a
//! limit, past which the socket counts as too slow and takes no more of them.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most pieces handed to one vectored write.
const GATHER: usize = 64;

pub struct Wire {
    tcp: TcpStream,
    out: Mutex<Outgoing>,
    /// The connection's place under the connection cap, given back when the socket closes.
    _slot: Option<super::capacity::Slot>,
}

#[derive(Default)]
struct Outgoing {
    /// Bytes taken but not yet written, in order; the first may be partly written already.
    kept: VecDeque<Bytes>,
    /// Deliveries are no longer taken: the socket fell behind, or its session is ending.
    refusing: bool,
    /// Set when a delivery found the limit reached.
    too_slow: bool,
    /// Set when the socket's user may no longer have it open.
    revoked: bool,
    /// The owning task, woken when a delivery left bytes kept or found the socket too slow.
    owner: Option<Waker>,
}

/// What the owning task learns from [`Wire::poll_attend`].
#[derive(Debug, PartialEq, Eq)]
pub enum Trouble {
    /// A delivery found the limit of kept frames reached; deliveries are refused from now on.
    TooSlow,
    /// The user's access was taken back (disabled, signed out, demoted) while it was open.
    Revoked,
    /// The connection failed.
    Gone,
}

impl Wire {
    pub fn new(tcp: TcpStream) -> Arc<Self> {
        Self::with_slot(tcp, None)
    }

    /// A connection counted under the cap for as long as it is open.
    pub fn holding(tcp: TcpStream, slot: super::capacity::Slot) -> Arc<Self> {
        Self::with_slot(tcp, Some(slot))
    }

    fn with_slot(tcp: TcpStream, slot: Option<super::capacity::Slot>) -> Arc<Self> {
        Arc::new(Self {
            tcp,
            out: Mutex::new(Outgoing::default()),
            _slot: slot,
        })
    }

    fn out(&self) -> MutexGuard<'_, Outgoing> {
        // A panic while holding the lock leaves the queue as consistent as before it.
        self.out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `frame` now if nothing is kept before it and `now` is asked for, or keeps it, up
    /// to `limit` frames, for the owner to write with whatever follows. False when the frame
    /// was not taken: the connection failed, is closing, or fell behind.
    pub fn deliver(&self, frame: &Bytes, limit: usize, now: bool) -> bool {
        let mut out = self.out();
        if out.refusing {
            return false;
        }
        if !out.kept.is_empty() {
            if out.kept.len() >= limit {
                out.refusing = true;
                out.too_slow = true;
                out.wake_owner();
                return false;
            }
            out.kept.push_back(frame.clone());
            return true;
        }
        if !now {
            out.kept.push_back(frame.clone());
            out.wake_owner();
            return true;
        }
        match self.tcp.try_write(frame) {
            Ok(n) if n == frame.len() => return true,
            Ok(n) => out.kept.push_back(frame.slice(n..)),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                out.kept.push_back(frame.clone());
            }
            Err(_) => {
                out.refusing = true;
                out.wake_owner();
                return false;
            }
        }
        // The kernel took part or none of it: the owner writes the rest once it can.
        out.wake_owner();
        true
    }

    /// The owner is to close the socket: its user may no longer have it open. Deliveries are
    /// refused from now on.
    pub fn revoke(&self) {
        let mut out = self.out();
        out.refusing = true;
        out.revoked = true;
        out.wake_owner();
    }

    /// From now on deliveries are refused (the session is closing its socket).
    pub fn refuse_deliveries(&self) {
        self.out().refusing = true;
    }

    /// The owning task's duty towards its rooms: writes what is kept while the socket takes
    /// it, and is woken again when there is more. Ready only with trouble.
    pub fn poll_attend(&self, cx: &mut Context<'_>) -> Poll<Trouble> {
        let mut out = self.out();
        if out.revoked {
            return Poll::Ready(Trouble::Revoked);
        }
        if out.too_slow {
            return Poll::Ready(Trouble::TooSlow);
        }
        match self.poll_write_kept(&mut out, cx) {
            Poll::Ready(Ok(())) => {
                out.watch(cx);
                Poll::Pending
            }
            Poll::Ready(Err(_)) => Poll::Ready(Trouble::Gone),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes kept bytes until none are left (ready) or the socket is full (pending, with
    /// `cx` woken when it is writable again or a delivery finds the socket too slow).
    fn poll_write_kept(&self, out: &mut Outgoing, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !out.kept.is_empty() {
            let pieces: Vec<IoSlice<'_>> = out
                .kept
                .iter()
                .take(GATHER)
                .map(|piece| IoSlice::new(piece))
                .collect();
            match self.tcp.try_write_vectored(&pieces) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => out.consume(n),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    out.watch(cx);
                    ready!(self.tcp.poll_write_ready(cx))?;
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The owner's write: waits until nothing is kept, then takes all of `buf`.
    fn poll_write_owned(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut out = self.out();
        ready!(self.poll_write_kept(&mut out, cx))?;
        loop {
            match self.tcp.try_write(buf) {
                Ok(n) => {
                    if n < buf.len() {
                        out.kept.push_back(Bytes::copy_from_slice(&buf[n..]));
                    }
                    return Poll::Ready(Ok(buf.len()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.tcp.poll_write_ready(cx))?;
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    fn poll_read_owned(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale; `try_read` cleared it, so the next poll waits.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl Outgoing {
    fn wake_owner(&mut self) {
        if let Some(owner) = self.owner.take() {
            owner.wake();
        }
    }

    fn watch(&mut self, cx: &Context<'_>) {
        match &self.owner {
            Some(owner) if owner.will_wake(cx.waker()) => {}
            _ => self.owner = Some(cx.waker().clone()),
        }
    }

    /// Drops the first `n` kept bytes, which were written.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(first) = self.kept.front_mut() else {
                return;
            };
            if n < first.len() {
                *first = first.slice(n..);
                return;
            }
            n -= first.len();
            self.kept.pop_front();
        }
    }
}

/// The owning task's end: the stream hyper serves, and later the upgraded WebSocket's.
pub struct WireIo(Arc<Wire>);

impl WireIo {
    pub fn new(wire: Arc<Wire>) -> Self {
        Self(wire)
    }
}

impl AsyncRead for WireIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_read_owned(cx, buf)
    }
}

impl AsyncWrite for WireIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_owned(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.0.out();
        self.0.poll_write_kept(&mut out, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.0.out();
        out.refusing = true;
        ready!(self.0.poll_write_kept(&mut out, cx))?;
        Poll::Ready(socket2::SockRef::from(&self.0.tcp).shutdown(std::net::Shutdown::Write))
    }
}

impl Drop for WireIo {
    /// The rooms may hold the stream a little longer (until they hear the socket left), but
    /// the connection ends with its owner: they write no more, and the client sees the end.
    fn drop(&mut self) {
        self.0.refuse_deliveries();
        let _ = socket2::SockRef::from(&self.0.tcp).shutdown(std::net::Shutdown::Write);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (Arc<Wire>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        (Wire::new(accepted.unwrap().0), client.unwrap())
    }

    async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        client.read_exact(&mut bytes).await.unwrap();
        bytes
    }

    #[tokio::test]
    async fn deliveries_and_owner_writes_arrive_whole_and_in_order() {
        let (wire, mut client) = pair().await;
        let mut io = WireIo::new(Arc::clone(&wire));
        io.write_all(b"hello ").await.unwrap();
        assert!(wire.deliver(&Bytes::from_static(b"room "), 8, true));
        io.write_all(b"world").await.unwrap();
        io.flush().await.unwrap();
        assert_eq!(read_exactly(&mut client, 16).await, b"hello room world");
    }

    #[tokio::test]
    async fn frames_left_to_the_owner_are_written_by_it_in_order() {
        let (wire, mut client) = pair().await;
        for piece in ["one ", "two ", "three"] {
            assert!(wire.deliver(&Bytes::from_static(piece.as_bytes()), 8, false));
        }
        assert_eq!(wire.out().kept.len(), 3, "written without the owner");
        let attending = {
            let wire = Arc::clone(&wire);
            tokio::spawn(async move { std::future::poll_fn(|cx| wire.poll_attend(cx)).await })
        };
        assert_eq!(read_exactly(&mut client, 13).await, b"one two three");
        assert!(wire.deliver(&Bytes::from_static(b"!"), 8, false));
        assert_eq!(read_exactly(&mut client, 1).await, b"!");
        attending.abort();
    }

    #[tokio::test]
    async fn what_the_kernel_does_not_take_is_kept_until_the_client_reads() {
        let (wire, mut client) = pair().await;
        let frame = Bytes::from(vec![7u8; 64 * 1024]);
        let mut delivered = 0;
        // Enough to fill both sockets' buffers, well under the limit.
        while delivered < 200 {
            assert!(wire.deliver(&frame, 1_000, true));
            delivered += 1;
        }
        assert!(!wire.out().kept.is_empty(), "the kernel took it all");
        let attending = {
            let wire = Arc::clone(&wire);
            tokio::spawn(async move { std::future::poll_fn(|cx| wire.poll_attend(cx)).await })
        };
        let mut total = 0;
        let mut chunk = vec![0; 256 * 1024];
        while total < delivered * frame.len() {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(chunk[..n].iter().all(|b| *b == 7));
            total += n;
        }
        assert_eq!(total, delivered * frame.len());
        assert!(wire.out().kept.is_empty());
        attending.abort();
    }

    #[tokio::test]
    async fn a_socket_that_keeps_too_much_refuses_deliveries_and_tells_its_owner() {
        let (wire, _client) = pair().await;
        let frame = Bytes::from(vec![1u8; 64 * 1024]);
        let mut taken = 0;
        while wire.deliver(&frame, 4, true) {
            taken += 1;
            assert!(taken < 1_000, "never refused");
        }
        let trouble = std::future::poll_fn(|cx| wire.poll_attend(cx)).await;
        assert_eq!(trouble, Trouble::TooSlow);
        assert!(!wire.deliver(&Bytes::from_static(b"x"), 4, true));
    }

    #[tokio::test]
    async fn the_owner_dropping_its_end_ends_the_connection() {
        let (wire, mut client) = pair().await;
        drop(WireIo::new(Arc::clone(&wire)));
        assert!(!wire.deliver(&Bytes::from_static(b"late"), 8, true));
        let mut rest = Vec::new();
        assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0);
    }
}
