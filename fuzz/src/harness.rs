//! What every target shares: one runtime, aborting on a panic in any thread, and an HTTP/1.1
//! exchange over a fresh loopback connection with a bound on how long the answer may take.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Once, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long an answer may take before the target calls it a hang. Nothing a target sends asks
/// for a delay, so a healthy peer answers in microseconds; the bound only has to be far above
/// scheduling noise on a loaded machine.
pub(crate) const HANG: Duration = Duration::from_secs(5);

/// A panic in a server task would otherwise only end that task, where the fuzzer never sees
/// it: abort the process, which libFuzzer reports as a crash with the input that caused it.
pub(crate) fn abort_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            std::process::abort();
        }));
    });
}

/// The runtime the servers run on and the targets block on.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        // libFuzzer's `main` is C++, so Rust's start-up never set SIGPIPE to "ignore": a write
        // to a socket the peer closed would kill the process without a word. A Tokio listener
        // for the signal replaces the default action with a handler.
        runtime.block_on(async {
            let mut pipe = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::pipe())
                .expect("a SIGPIPE listener");
            tokio::spawn(async move { while pipe.recv().await.is_some() {} });
        });
        runtime
    })
}

/// Runs `future` to completion on the shared runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// Waits for `future`, panicking if it takes longer than [`HANG`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: no answer within {HANG:?}"),
    }
}

/// A loopback server: each accepted connection (with `TCP_NODELAY`: without it, Nagle's
/// algorithm and delayed ACKs hold small writes for 40 ms) goes to `serve` in a task of its own.
pub(crate) fn serve_loopback<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = block_on(TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    runtime().spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve(socket));
        }
    });
    addr
}

/// Writes `request` on a new connection to `addr` and reads the answer until the peer closes.
/// Panics if that takes longer than [`HANG`].
///
/// With `half_close` the sending side is closed after the request, for bytes that may never
/// make a complete request; hyper's HTTP/1.1 server reads that as the client leaving and may
/// drop an answer it has not written yet, so a request that wants its answer says
/// `connection: close` instead and keeps the sending side open.
pub(crate) async fn http1_exchange(addr: SocketAddr, request: &[u8], half_close: bool) -> Vec<u8> {
    within("an HTTP/1.1 exchange", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to loopback");
        let _ = stream.set_nodelay(true);
        // The peer may answer and close before it read everything: then writing fails, and the
        // answer it gave is still there to read.
        let _ = stream.write_all(request).await;
        if half_close {
            let _ = stream.shutdown().await;
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        answer
    })
    .await
}

/// The status code of the first HTTP/1.1 answer in `answer`, if it starts with a status line.
pub(crate) fn status_of(answer: &[u8]) -> Option<u16> {
    let rest = answer.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// The body of the first HTTP/1.1 answer (after the blank line), as far as it was read.
pub(crate) fn body_of(answer: &[u8]) -> &[u8] {
    answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(&[][..], |at| &answer[at + 4..])
}
