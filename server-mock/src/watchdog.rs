//! The connection watchdog: a small task beside each connection that closes it when an HTTP/1
//! client is too slow to send a request's head, or when a drop fault asks for it.
//!
//! The rule: an HTTP/1 connection on which no call has started or ended for [`HEAD_TIMEOUT`],
//! and none is in progress, is closed (within [`TICK`] after that). So a head dribbled byte by
//! byte (slowloris) or a connection left idle is closed after 30 to 35 s, counted from the
//! connection's start or from the end of its last call. An HTTP/2 connection has no such deadline
//! (its streams are bounded by the HTTP/2 limits in the front end's connection builder).
//!
//! Why not hyper's own `header_read_timeout`, which did this before: it arms a timer for every
//! request (a boxed sleep registered with the runtime's timer wheel, removed once the head is
//! in), and that cost the mock 5–7% of its REST throughput at saturation (`wrk -t2 -c64`, the
//! mock against a build without the timer, interleaved rounds). The watchdog looks every few
//! seconds at a counter that a call bumps twice, uncontended, on its connection's own state.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// How long an HTTP/1 client may take to send a request's head, counted from its connection's
/// start or from the end of its previous call.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the watchdog looks.
const TICK: Duration = Duration::from_secs(5);

/// What the watchdog knows of one connection.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Bumped when a call starts and again when it ends: odd while one is in progress.
    calls: AtomicU64,
    /// The connection began with HTTP/2's preface.
    http2: AtomicBool,
    /// A drop fault asked for the connection to be closed without an answer.
    drop: AtomicBool,
    /// The connection's task is done.
    ended: AtomicBool,
    wake: Notify,
}

impl Watch {
    /// Marks a call in progress until the guard is dropped.
    pub(crate) fn call(&self) -> CallGuard<'_> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        CallGuard(self)
    }

    /// Closes the connection without an answer (a drop fault): the watchdog aborts the
    /// connection's task, so the caller only has to stop answering.
    pub(crate) fn drop_connection(&self) {
        self.drop.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Marks the connection's task as done when dropped, so that its watchdog ends too.
    pub(crate) fn ended_on_drop(self: &Arc<Self>) -> EndGuard {
        EndGuard(self.clone())
    }
}

/// A call in progress on a watched connection.
pub(crate) struct CallGuard<'a>(&'a Watch);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.0.calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// Held by a connection's task: dropping it (the task ended or was aborted) ends the watchdog.
pub(crate) struct EndGuard(Arc<Watch>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::Relaxed);
        self.0.wake.notify_one();
    }
}

/// Watches one connection until it ends: aborts its task on a drop fault, or when an HTTP/1
/// head is overdue.
pub(crate) async fn run(watch: Arc<Watch>, connection: AbortHandle) {
    let mut seen = watch.calls.load(Ordering::Relaxed);
    let mut quiet = Duration::ZERO;
    loop {
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = watch.wake.notified() => {}
        }
        if watch.ended.load(Ordering::Relaxed) {
            return;
        }
        if watch.drop.load(Ordering::Relaxed) {
            tracing::debug!("connection dropped by a fault");
            connection.abort();
            return;
        }
        let calls = watch.calls.load(Ordering::Relaxed);
        let in_call = calls % 2 == 1;
        if calls != seen || in_call || watch.http2.load(Ordering::Relaxed) {
            seen = calls;
            quiet = Duration::ZERO;
            continue;
        }
        quiet += TICK;
        if quiet >= HEAD_TIMEOUT {
            tracing::debug!("closing an HTTP/1 connection: no request head in time");
            connection.abort();
            return;
        }
    }
}

/// HTTP/2's connection preface (RFC 9113 §3.4); its first three bytes tell it from HTTP/1.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection's bytes, passed through unchanged; its first read tells the watch whether the
/// client speaks HTTP/2.
#[derive(Debug)]
pub(crate) struct Watched<I> {
    io: I,
    watch: Arc<Watch>,
    sniffed: bool,
}

impl<I> Watched<I> {
    pub(crate) fn new(io: I, watch: Arc<Watch>) -> Self {
        Self {
            io,
            watch,
            sniffed: false,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if !self.sniffed {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                self.sniffed = true;
                // A preface cut shorter than three bytes counts as HTTP/1: only a client
                // dribbling bytes sends one that way, and it then gets HTTP/1's deadline.
                let http2 =
                    read.len() >= 3 && PREFACE.starts_with(&read[..read.len().min(PREFACE.len())]);
                self.watch.http2.store(http2, Ordering::Relaxed);
            }
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
