//! HTTP/2 abuse and raw TCP garbage against an in-process `MockServer`.
//!
//! Every case keeps an abusive connection (or many) busy and, while the abuse is verifiably
//! still going on, makes normal AddMyPasswordlessLink calls over gRPC on fresh connections: the
//! best of a few must take less than 100 ms, and every one must succeed. Each case also checks
//! how the abusive connection was answered: GOAWAY, RST_STREAM, a close, or (for the slow
//! ones) nothing at all while costing bounded state, never service without end.
//!
//! The abusive HTTP/2 clients write raw frames (the `wire` module below) instead of using the
//! `h2` crate's client. The h2 client honours the server's SETTINGS_MAX_CONCURRENT_STREAMS by
//! holding back new streams until one closes, and always grants and replenishes flow-control
//! window, so the server's refusals and its behaviour towards a peer that never opens its window
//! would not be exercised at all; for the reset flood, raw frames put thousands of
//! HEADERS/RST_STREAM pairs into a few large writes and let the test read the exact GOAWAY code
//! and last stream ID. (`it/robustness.rs` has a reset flood through the h2 client.)
//!
//! The cases run one after another (see `serially`) so that a latency measured during one abuse
//! is not also measuring another. Run with `--nocapture` to see the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::*;
use http::{Method, StatusCode, Version};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse,
};
use zitadel_passkey_mock::MockServer;

/// What a normal call may take while the abuse goes on (the best of [`PROBES`] attempts).
const BUDGET: Duration = Duration::from_millis(100);
/// How many normal calls are made during each abuse.
const PROBES: usize = 8;
/// The token of every abusive request, mapped to [`ABUSE_USER`] so that the codes the abuse
/// managed to create can be counted.
const ABUSE_TOKEN: &str = "abuse-token";
const ABUSE_USER: &str = "200000000000000666";
const ABUSE_ORG: &str = "300000000000000666";
/// The token of the normal calls.
const NORMAL_TOKEN: &str = "normal-token";
/// The mock's SETTINGS_MAX_CONCURRENT_STREAMS (`connection_builder` in `src/server.rs`).
const MAX_STREAMS: u32 = 256;
/// Its `max_local_error_reset_streams`: the RST_STREAMs it may send of its own accord on one
/// connection (refusals among them) before it cuts the connection.
const MAX_LOCAL_RESETS: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Running the cases

/// One case at a time, each on its own two-worker runtime (the CI machine has two cores).
fn serially<F: Future<Output = ()>>(case: impl FnOnce() -> F) {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    count_panics();
    reset_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    runtime.block_on(case());
    eprintln!("[abuse] case took {:?}", started.elapsed());
    // Tasks still parked on abusive sockets are simply dropped with the runtime.
    runtime.shutdown_background();
}

async fn start_mock() -> MockServer {
    MockServer::builder()
        .user(ABUSE_TOKEN, ABUSE_USER, ABUSE_ORG)
        .start()
        .await
        .unwrap()
}

/// Codes the abusive requests got the handler to create.
fn abuse_codes(mock: &MockServer) -> usize {
    mock.live_codes()
        .iter()
        .filter(|c| c.user_id == ABUSE_USER)
        .count()
}

fn assert_no_panics() {
    assert_eq!(panics(), 0, "a task panicked");
}

/// The process's resident set size in KiB (Linux), for the record.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Normal calls

/// One AddMyPasswordlessLink over gRPC on a fresh h2 connection (connect and handshake
/// included in the time); panics unless it succeeds with a link within 2 s.
///
/// The socket has TCP_NODELAY, as any real gRPC client's has: without it, the request's second
/// small write would wait for the mock's delayed ACK (about 40 ms on Linux), a cost of this
/// client and not of the server under test.
async fn normal_call(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(2), async {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        send_io(
            stream,
            &addr.to_string(),
            "http",
            Version::HTTP_2,
            Method::POST,
            ADD_PATH,
            &[
                ("content-type", "application/grpc"),
                ("te", "trailers"),
                ("authorization", &format!("Bearer {NORMAL_TOKEN}")),
            ],
            message_frame(&AddMyPasswordlessLinkRequest {}),
        )
        .await
    })
    .await
    .expect("a normal call timed out (2 s) during the abuse")
    .expect("a normal call failed during the abuse");
    let elapsed = started.elapsed();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let trailers = reply.trailers.as_ref().expect("gRPC trailers");
    assert_eq!(grpc_status(trailers).code, 0, "{reply:?}");
    let messages = frames(&reply.body).unwrap();
    assert_eq!(messages.len(), 1, "{reply:?}");
    let response = AddMyPasswordlessLinkResponse::decode(messages[0].1.as_slice()).unwrap();
    assert!(response.link.contains("code="), "{response:?}");
    elapsed
}

/// Latencies of the normal calls made during one abuse.
#[derive(Debug)]
struct Latency(Vec<Duration>);

impl Latency {
    fn best(&self) -> Duration {
        self.0.iter().copied().min().unwrap_or(Duration::MAX)
    }

    fn report(&self, case: &str) {
        let mut sorted = self.0.clone();
        sorted.sort();
        eprintln!(
            "[abuse] {case}: normal gRPC call best {:?}, median {:?}, worst {:?} ({} calls)",
            sorted[0],
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1],
            sorted.len()
        );
    }
}

/// [`PROBES`] normal calls, checking before and after each that the abuse is still on; the best
/// must be within [`BUDGET`].
async fn probe(case: &str, addr: SocketAddr, active: impl Fn() -> bool) -> Latency {
    let mut samples = Vec::with_capacity(PROBES);
    for attempt in 0..PROBES {
        assert!(active(), "{case}: the abuse stopped before call {attempt}");
        samples.push(normal_call(addr).await);
        assert!(active(), "{case}: the abuse stopped during call {attempt}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let latency = Latency(samples);
    latency.report(case);
    assert!(
        latency.best() < BUDGET,
        "{case}: no normal call within {BUDGET:?}: {latency:?}"
    );
    latency
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 by hand

/// Just enough HTTP/2 and HPACK to write abusive frames and read the
/// server's answers.
mod wire {
    use std::io;

    use tokio::io::{AsyncRead, AsyncReadExt};

    use super::{ABUSE_TOKEN, ADD_PATH};

    pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;

    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;

    pub const STREAM_CLOSED: u32 = 0x5;
    pub const REFUSED_STREAM: u32 = 0x7;
    pub const CANCEL: u32 = 0x8;
    pub const ENHANCE_YOUR_CALM: u32 = 0xb;

    pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

    /// The `n`th client stream's ID (1, 3, 5, ...).
    pub fn stream_id(n: u32) -> u32 {
        2 * n + 1
    }

    pub fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = u32::try_from(payload.len()).unwrap();
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        out.extend_from_slice(payload);
    }

    pub fn settings(out: &mut Vec<u8>, values: &[(u16, u32)]) {
        let mut payload = Vec::new();
        for (id, value) in values {
            payload.extend_from_slice(&id.to_be_bytes());
            payload.extend_from_slice(&value.to_be_bytes());
        }
        frame(out, SETTINGS, 0, 0, &payload);
    }

    pub fn settings_ack(out: &mut Vec<u8>) {
        frame(out, SETTINGS, ACK, 0, &[]);
    }

    pub fn ping(out: &mut Vec<u8>, opaque: u64) {
        frame(out, PING, 0, 0, &opaque.to_be_bytes());
    }

    pub fn reset(out: &mut Vec<u8>, stream: u32, code: u32) {
        frame(out, RST_STREAM, 0, stream, &code.to_be_bytes());
    }

    /// An HPACK integer with an `prefix`-bit prefix after the `high` bits.
    fn integer(out: &mut Vec<u8>, high: u8, prefix: u32, value: usize) {
        let max = (1usize << prefix) - 1;
        if value < max {
            out.push(high | value as u8);
            return;
        }
        out.push(high | max as u8);
        let mut rest = value - max;
        while rest >= 128 {
            out.push((rest % 128) as u8 | 0x80);
            rest /= 128;
        }
        out.push(rest as u8);
    }

    /// A header block of literal fields without indexing, new names, no Huffman: no state on
    /// either side, so blocks can be dropped or dribbled in any order.
    pub fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in fields {
            out.push(0x00);
            integer(&mut out, 0x00, 7, name.len());
            out.extend_from_slice(name.as_bytes());
            integer(&mut out, 0x00, 7, value.len());
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    /// The HEADERS of an abusive AddMyPasswordlessLink call over gRPC; with `end_stream` the
    /// request has no body.
    pub fn grpc_headers(out: &mut Vec<u8>, stream: u32, authority: &str, end_stream: bool) {
        let bearer = format!("Bearer {ABUSE_TOKEN}");
        let block = header_block(&[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", authority),
            (":path", ADD_PATH),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", &bearer),
        ]);
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        frame(out, HEADERS, flags, stream, &block);
    }

    /// The body of that call: one empty request message, ending the stream.
    pub fn grpc_body(out: &mut Vec<u8>, stream: u32) {
        frame(out, DATA, END_STREAM, stream, &[0, 0, 0, 0, 0]);
    }

    /// A whole gRPC call: HEADERS and DATA.
    pub fn grpc_call(out: &mut Vec<u8>, stream: u32, authority: &str) {
        grpc_headers(out, stream, authority, false);
        grpc_body(out, stream);
    }

    #[derive(Debug)]
    pub struct Frame {
        pub kind: u8,
        pub flags: u8,
        pub stream: u32,
        pub payload: Vec<u8>,
    }

    pub async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<Frame> {
        let mut head = [0u8; 9];
        reader.read_exact(&mut head).await?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        reader.read_exact(&mut payload).await?;
        Ok(Frame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Splits bytes into whole frames (a trailing partial frame is left out).
    pub fn split(mut bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        while bytes.len() >= 9 {
            let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
            let Some(payload) = bytes.get(9..9 + len) else {
                break;
            };
            out.push(Frame {
                kind: bytes[3],
                flags: bytes[4],
                stream: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff,
                payload: payload.to_vec(),
            });
            bytes = &bytes[9 + len..];
        }
        out
    }

    pub fn u32_at(payload: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(payload[at..at + 4].try_into().unwrap())
    }
}

/// A GOAWAY as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GoAway {
    last_stream: u32,
    code: u32,
}

/// What the server sent on one raw HTTP/2 connection.
#[derive(Debug, Default)]
struct Seen {
    /// The server's first SETTINGS.
    settings: Option<Vec<(u16, u32)>>,
    /// Streams the server sent HEADERS on (a response started).
    headers: BTreeSet<u32>,
    data_frames: usize,
    /// RST_STREAM codes by stream, in order.
    resets: BTreeMap<u32, Vec<u32>>,
    goaway: Option<GoAway>,
    /// How reading ended: EOF (`None` inside) or an error.
    ended: Option<Option<io::ErrorKind>>,
}

impl Seen {
    fn record(&mut self, frame: &wire::Frame) {
        match frame.kind {
            wire::SETTINGS if frame.flags & wire::ACK == 0 && self.settings.is_none() => {
                let values = frame
                    .payload
                    .chunks_exact(6)
                    .map(|c| (u16::from_be_bytes([c[0], c[1]]), wire::u32_at(c, 2)))
                    .collect();
                self.settings = Some(values);
            }
            wire::HEADERS => {
                self.headers.insert(frame.stream);
            }
            wire::DATA => self.data_frames += 1,
            wire::RST_STREAM => {
                self.resets
                    .entry(frame.stream)
                    .or_default()
                    .push(wire::u32_at(&frame.payload, 0));
            }
            wire::GOAWAY if self.goaway.is_none() => {
                self.goaway = Some(GoAway {
                    last_stream: wire::u32_at(&frame.payload, 0) & 0x7fff_ffff,
                    code: wire::u32_at(&frame.payload, 4),
                });
            }
            _ => {}
        }
    }

    fn setting(&self, id: u16) -> Option<u32> {
        self.settings
            .as_ref()?
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
    }
}

/// A raw HTTP/2 connection: the write half, and a task recording every frame the server sends.
struct RawH2 {
    write: OwnedWriteHalf,
    seen: Arc<Mutex<Seen>>,
    authority: String,
    _reader: JoinHandle<()>,
}

impl RawH2 {
    /// Connects, sends the preface and `settings`, waits for the server's SETTINGS and ACKs them.
    async fn open(addr: SocketAddr, settings: &[(u16, u32)]) -> RawH2 {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut read, mut write) = stream.into_split();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let reader = {
            let seen = seen.clone();
            tokio::spawn(async move {
                loop {
                    match wire::read_frame(&mut read).await {
                        Ok(frame) => seen.lock().unwrap().record(&frame),
                        Err(error) => {
                            let kind = (error.kind() != io::ErrorKind::UnexpectedEof)
                                .then(|| error.kind());
                            seen.lock().unwrap().ended = Some(kind);
                            return;
                        }
                    }
                }
            })
        };
        let mut hello = wire::PREFACE.to_vec();
        wire::settings(&mut hello, settings);
        write.write_all(&hello).await.unwrap();
        let mut connection = RawH2 {
            write,
            seen,
            authority: addr.to_string(),
            _reader: reader,
        };
        assert!(
            connection
                .wait_for(Duration::from_secs(2), |s| s.settings.is_some())
                .await,
            "no SETTINGS from the server"
        );
        let mut ack = Vec::new();
        wire::settings_ack(&mut ack);
        connection.write.write_all(&ack).await.unwrap();
        connection
    }

    fn seen<T>(&self, look: impl FnOnce(&Seen) -> T) -> T {
        look(&self.seen.lock().unwrap())
    }

    fn cut_off(&self) -> bool {
        self.seen(|s| s.goaway.is_some() || s.ended.is_some())
    }

    /// Waits until `done` holds of what the server sent; false on timeout.
    async fn wait_for(&self, timeout: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.seen(&done) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Whether `stream` is open with nothing received (a read would still wait), for a stream that
/// has been quiet for a while. Otherwise what happened: `Ok(0)` closed, `Ok(n)` bytes arrived,
/// `Err` reset.
async fn silent_and_open(stream: &TcpStream) -> Result<(), io::Result<usize>> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_millis(2), stream.peek(&mut buf)).await {
        Err(_) => Ok(()),
        Ok(result) => Err(result),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Reset flood

/// How one flood connection ended.
#[derive(Debug)]
struct FloodEnd {
    pairs_sent: u64,
    goaway: Option<GoAway>,
    responses: usize,
    ended: Option<Option<io::ErrorKind>>,
}

/// Pairs per connection after which the server has clearly failed to cut the flood off.
const FLOOD_MAX_PAIRS: u64 = 20_000;

/// One connection of HEADERS + RST_STREAM(CANCEL) pairs, 100 per write, until the server cuts
/// it off (or [`FLOOD_MAX_PAIRS`]).
async fn flood_connection(addr: SocketAddr, sent: &AtomicU64) -> FloodEnd {
    let mut connection = RawH2::open(addr, &[]).await;
    let mut next = 0;
    let mut pairs_sent = 0;
    let mut batch = Vec::new();
    while pairs_sent < FLOOD_MAX_PAIRS && !connection.cut_off() {
        batch.clear();
        for _ in 0..100 {
            let id = wire::stream_id(next);
            next += 1;
            // No END_STREAM: the call waits for a body that never comes.
            wire::grpc_headers(&mut batch, id, &connection.authority, false);
            wire::reset(&mut batch, id, wire::CANCEL);
        }
        if connection.write.write_all(&batch).await.is_err() {
            break;
        }
        pairs_sent += 100;
        sent.fetch_add(100, Ordering::Relaxed);
    }
    connection
        .wait_for(Duration::from_secs(2), |s| s.ended.is_some())
        .await;
    connection.seen(|s| FloodEnd {
        pairs_sent,
        goaway: s.goaway,
        responses: s.headers.len(),
        ended: s.ended,
    })
}

#[test]
fn reset_flood_is_cut_off_with_goaway() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        // One flooder after another, for as long as the normal calls go on.
        let flooder = {
            let (stop, sent) = (stop.clone(), sent.clone());
            tokio::spawn(async move {
                let mut ends = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    ends.push(flood_connection(addr, &sent).await);
                }
                ends
            })
        };
        while sent.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let before = sent.load(Ordering::Relaxed);
        probe("reset flood", addr, || !flooder.is_finished()).await;
        let during = sent.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::SeqCst);
        let ends = tokio::time::timeout(Duration::from_secs(10), flooder)
            .await
            .expect("the flood connections end")
            .unwrap();

        assert!(during > 0, "the flood went on during the normal calls");
        assert!(!ends.is_empty());
        for end in &ends {
            // Cut off with GOAWAY(ENHANCE_YOUR_CALM), then closed; few streams were ever
            // answered.
            let goaway = end.goaway.unwrap_or_else(|| panic!("no GOAWAY: {end:?}"));
            assert_eq!(goaway.code, wire::ENHANCE_YOUR_CALM, "{end:?}");
            assert!(end.ended.is_some(), "not closed after GOAWAY: {end:?}");
            assert!(end.responses <= 100, "{end:?}");
            // However much the flooder had written by the time it read the GOAWAY, the server
            // had stopped after a few dozen streams (`max_pending_accept_reset_streams`).
            assert!(goaway.last_stream < wire::stream_id(1000), "{end:?}");
        }
        let pairs: Vec<_> = ends.iter().map(|e| e.pairs_sent).collect();
        let last: Vec<_> = ends
            .iter()
            .filter_map(|e| e.goaway.map(|g| g.last_stream))
            .collect();
        eprintln!(
            "[abuse] reset flood: {} connections, {} HEADERS+RST pairs written ({} during the \
             normal calls); each cut off with GOAWAY(ENHANCE_YOUR_CALM), read after {}..={} \
             pairs had been written, naming last stream IDs {}..={}, then closed ({:?})",
            ends.len(),
            sent.load(Ordering::Relaxed),
            during,
            pairs.iter().min().unwrap(),
            pairs.iter().max().unwrap(),
            last.iter().min().unwrap(),
            last.iter().max().unwrap(),
            ends.iter().map(|e| e.ended).collect::<BTreeSet<_>>(),
        );
        assert_eq!(abuse_codes(&mock), 0, "a reset call created a code");
        assert_no_panics();
    });
}

// ---------------------------------------------------------------------------------------------
// 2. More streams than allowed, and 3a. a reader that never grants window

/// Opens [`MAX_STREAMS`] + 44 streams on `connection` at once, then keeps opening more, slowly
/// while the normal calls run and fast afterwards, until the server sends GOAWAY. With
/// `whole_calls` each stream is a complete call; without, HEADERS only (a body that never comes).
/// Returns the latency of the normal calls.
async fn over_the_limit(
    case: &str,
    addr: SocketAddr,
    connection: RawH2,
    whole_calls: bool,
) -> (Latency, RawH2) {
    let open = move |out: &mut Vec<u8>, n: u32, authority: &str| {
        let id = wire::stream_id(n);
        if whole_calls {
            wire::grpc_call(out, id, authority);
        } else {
            wire::grpc_headers(out, id, authority, false);
        }
    };
    let first = MAX_STREAMS + 44;
    let mut batch = Vec::new();
    for n in 0..first {
        open(&mut batch, n, &connection.authority);
    }
    let mut connection = connection;
    connection.write.write_all(&batch).await.unwrap();
    let over = (first - MAX_STREAMS) as usize;
    assert!(
        connection
            .wait_for(Duration::from_secs(3), |s| s.resets.len() >= over)
            .await,
        "{case}: the streams over the limit were not refused: {:?}",
        connection.seen(|s| (s.resets.len(), s.goaway, s.ended))
    );
    connection.seen(|s| {
        assert!(s.goaway.is_none(), "{case}: {:?}", s.goaway);
        assert_eq!(s.resets.len(), over, "{case}: {:?}", s.resets);
        check_refusals(case, s);
    });

    // Keep asking for more while the normal calls run.
    let fast = Arc::new(AtomicBool::new(false));
    let pusher = {
        let fast = fast.clone();
        let seen = connection.seen.clone();
        let authority = connection.authority.clone();
        let mut write = connection.write;
        tokio::spawn(async move {
            let mut next = first;
            let mut batch = Vec::new();
            let cut_off = || {
                let s = seen.lock().unwrap();
                s.goaway.is_some() || s.ended.is_some()
            };
            while !cut_off() && next < first + 4 * MAX_LOCAL_RESETS as u32 {
                let fast = fast.load(Ordering::SeqCst);
                let count = if fast { 100 } else { 4 };
                batch.clear();
                for _ in 0..count {
                    open(&mut batch, next, &authority);
                    next += 1;
                }
                if write.write_all(&batch).await.is_err() {
                    break;
                }
                if !fast {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            (write, next)
        })
    };
    let latency = {
        let seen = connection.seen.clone();
        probe(case, addr, || {
            let s = seen.lock().unwrap();
            s.goaway.is_none() && s.ended.is_none() && !pusher.is_finished()
        })
        .await
    };
    fast.store(true, Ordering::SeqCst);
    let (write, opened) = pusher.await.unwrap();
    connection.write = write;
    assert!(
        connection
            .wait_for(Duration::from_secs(3), |s| s.goaway.is_some()
                && s.ended.is_some())
            .await,
        "{case}: no GOAWAY and close after {opened} streams: {:?}",
        connection.seen(|s| (s.resets.len(), s.goaway, s.ended))
    );
    connection.seen(|s| {
        let goaway = s.goaway.unwrap();
        assert_eq!(goaway.code, wire::ENHANCE_YOUR_CALM, "{case}");
        // The refused streams were never acted on: the GOAWAY names the last one within the
        // limit.
        assert_eq!(
            goaway.last_stream,
            wire::stream_id(MAX_STREAMS - 1),
            "{case}"
        );
        check_refusals(case, s);
        let resets: usize = s.resets.values().map(Vec::len).sum();
        assert!(s.resets.len() >= over, "{case}");
        // Refusals count towards the connection's budget of resets the server makes itself.
        assert!(
            resets <= MAX_LOCAL_RESETS,
            "{case}: {resets} RST_STREAM frames"
        );
        eprintln!(
            "[abuse] {case}: SETTINGS_MAX_CONCURRENT_STREAMS {:?}; {opened} streams opened, \
             {} within the limit, {} refused with RST_STREAM(REFUSED_STREAM) ({resets} \
             RST_STREAM frames in all), then GOAWAY(code {:#x}, last stream {}) and close \
             ({:?}); {} responses started, {} DATA frames",
            s.setting(wire::SETTINGS_MAX_CONCURRENT_STREAMS),
            MAX_STREAMS,
            s.resets.len(),
            goaway.code,
            goaway.last_stream,
            s.ended.unwrap(),
            s.headers.len(),
            s.data_frames,
        );
    });
    (latency, connection)
}

/// The reset streams are exactly the streams from the first one over the limit on, each refused
/// with REFUSED_STREAM; a DATA frame the client had already sent on a refused stream may draw a
/// second RST_STREAM, STREAM_CLOSED.
fn check_refusals(case: &str, s: &Seen) {
    let limit = wire::stream_id(MAX_STREAMS);
    let (Some(first), Some(last)) = (s.resets.keys().next(), s.resets.keys().next_back()) else {
        panic!("{case}: nothing refused");
    };
    assert_eq!(*first, limit, "{case}: the first stream reset");
    for id in (limit..=*last).step_by(2) {
        let codes = s.resets.get(&id).map(Vec::as_slice).unwrap_or_default();
        match codes {
            [wire::REFUSED_STREAM] | [wire::REFUSED_STREAM, wire::STREAM_CLOSED] => {}
            other => panic!("{case}: stream {id} reset with {other:?}"),
        }
    }
    assert_eq!(
        s.resets.len() as u32,
        (last - limit) / 2 + 1,
        "{case}: a stream outside the refused range was reset"
    );
}

#[test]
fn streams_over_the_limit_are_refused() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();
        let connection = RawH2::open(addr, &[]).await;
        assert_eq!(
            connection.seen(|s| s.setting(wire::SETTINGS_MAX_CONCURRENT_STREAMS)),
            Some(MAX_STREAMS)
        );
        let (_latency, connection) =
            over_the_limit("more streams than allowed", addr, connection, false).await;
        // The streams within the limit never had a body: nothing was answered, no code made.
        assert!(connection.seen(|s| s.headers.is_empty()));
        assert_eq!(abuse_codes(&mock), 0);
        assert_no_panics();
    });
}

#[test]
fn a_reader_that_never_grants_window_holds_bounded_state() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();
        let rss_before = rss_kib();
        // Stream windows of 0, and never a WINDOW_UPDATE: no response body can be sent.
        let connection = RawH2::open(addr, &[(wire::SETTINGS_INITIAL_WINDOW_SIZE, 0)]).await;
        let (_latency, connection) =
            over_the_limit("window never granted", addr, connection, true).await;
        let codes = abuse_codes(&mock);
        connection.seen(|s| {
            // The server kept to the window (no DATA) and its open streams to the limit: the
            // handlers of at most MAX_STREAMS calls ran, all later ones were refused.
            assert_eq!(s.data_frames, 0, "DATA sent into a zero window");
            assert!(
                s.headers.len() <= MAX_STREAMS as usize,
                "{}",
                s.headers.len()
            );
            let limit = wire::stream_id(MAX_STREAMS);
            assert!(s.headers.iter().all(|id| *id < limit), "{:?}", s.headers);
            assert!(codes <= MAX_STREAMS as usize, "{codes} calls ran");
            assert!(s.headers.len() <= codes, "answers started without a call");
        });
        eprintln!(
            "[abuse] window never granted: {codes} calls ran, {} answers started (HEADERS \
             only); RSS {rss_before:?} KiB before, {:?} after",
            connection.seen(|s| s.headers.len()),
            rss_kib()
        );
        assert_no_panics();
    });
}

// ---------------------------------------------------------------------------------------------
// 3b. A peer that never reads at all

/// Cap on what a never-reading client may get into the server before it must be held back or
/// cut off.
const NEVER_READ_CAP: u64 = 64 << 20;

/// A client that writes frames as fast as the server takes them and never reads a byte.
struct NeverReads {
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<(TcpStream, Option<io::ErrorKind>)>,
}

impl NeverReads {
    /// Connects with a 4 KiB receive buffer (set before connecting, so the window it advertises
    /// is small and the server's answers back up soon), writes the preface and SETTINGS, then
    /// what `make` appends, again and again.
    async fn start(addr: SocketAddr, mut make: impl FnMut(&mut Vec<u8>) + Send + 'static) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (written, stop) = (written.clone(), stop.clone());
            tokio::spawn(async move {
                let mut pending = wire::PREFACE.to_vec();
                wire::settings(&mut pending, &[]);
                let mut offset = 0;
                while !stop.load(Ordering::SeqCst) {
                    assert!(
                        written.load(Ordering::Relaxed) < NEVER_READ_CAP,
                        "the server took {NEVER_READ_CAP} bytes without answering being read"
                    );
                    if offset == pending.len() {
                        pending.clear();
                        offset = 0;
                        make(&mut pending);
                    }
                    match tokio::time::timeout(Duration::from_millis(50), stream.writable()).await {
                        Err(_) => continue,
                        Ok(Err(error)) => return (stream, Some(error.kind())),
                        Ok(Ok(())) => {}
                    }
                    match stream.try_write(&pending[offset..]) {
                        Ok(n) => {
                            offset += n;
                            written.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                        Err(error) => return (stream, Some(error.kind())),
                    }
                }
                (stream, None)
            })
        };
        NeverReads {
            written,
            stop,
            task,
        }
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Waits until the server has taken nothing more for 500 ms (true), or the connection was
    /// closed (false). (The kernel lets a few late bursts through in the first second or so,
    /// as it compacts the small receive queue, hence the long quiet period.)
    async fn held_back(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = (self.written(), Instant::now());
        while Instant::now() < deadline {
            if self.task.is_finished() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = self.written();
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= Duration::from_millis(500) {
                return true;
            }
        }
        panic!("still writing after 10 s: {} bytes", self.written());
    }

    /// Stops writing; the stream, and the error that ended the writing early, if one did.
    async fn finish(self) -> (TcpStream, Option<io::ErrorKind>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// Reads what the server sent for 300 ms (or until it closed) and splits it into frames.
async fn drain(mut stream: TcpStream) -> Vec<wire::Frame> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    wire::split(&got)
}

#[test]
fn a_peer_that_never_reads_is_held_back() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();
        let authority = addr.to_string();
        let rss_before = rss_kib();
        // Bytes before the first frame (preface and SETTINGS), of one PING, of one whole call.
        let hello = (wire::PREFACE.len() + 9) as u64;
        let ping_len = 17;
        let call_len = {
            let mut call = Vec::new();
            wire::grpc_call(&mut call, 1, &authority);
            call.len() as u64
        };

        // PINGs, each owed a PONG that is never read.
        let mut count = 0u64;
        let pings = NeverReads::start(addr, move |out| {
            for _ in 0..1024 {
                wire::ping(out, count);
                count += 1;
            }
        })
        .await;
        // Whole calls, the answers never read.
        let mut next = 0;
        let calls = NeverReads::start(addr, move |out| {
            for _ in 0..64 {
                wire::grpc_call(out, wire::stream_id(next), &authority);
                next += 1;
            }
        })
        .await;
        let started = Instant::now();
        assert!(pings.held_back().await, "the PING connection was closed");
        let calls_held = calls.held_back().await;
        let took = started.elapsed();
        let rss_held = rss_kib();

        // While the normal calls run, the writers keep pushing. The server reads a
        // never-reading peer only as fast as its answers drain: what it still takes in now is
        // what the kernel lets through as it squeezes the tiny receive queue (a burst or two),
        // and then nothing; a server that kept reading would never come to rest, and the
        // writer would hit its cap.
        let (pings_before, calls_before) = (pings.written(), calls.written());
        probe("peer never reads", addr, || !pings.task.is_finished()).await;
        let pings_during = pings.written() - pings_before;
        let calls_during = calls.written() - calls_before;
        assert!(pings.held_back().await, "the PING connection was closed");
        let pings_total = pings.written();

        let (pings_stream, pings_error) = pings.finish().await;
        assert_eq!(pings_error, None, "the PING connection was closed");
        let (calls_stream, calls_error) = calls.finish().await;
        // The call writer is either held back too, or was cut off by the server (which reads
        // a few hundred calls, refuses the ones over the limit, and closes the connection once
        // its budget of resets is spent; the GOAWAY cannot reach a peer whose window is full).
        assert!(
            calls_held
                || matches!(
                    calls_error,
                    Some(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
                ),
            "{calls_error:?}"
        );
        let pongs = drain(pings_stream)
            .await
            .iter()
            .filter(|f| f.kind == wire::PING && f.flags & wire::ACK != 0)
            .count();
        let answers = drain(calls_stream).await;
        let goaway = answers
            .iter()
            .find(|f| f.kind == wire::GOAWAY)
            .map(|f| wire::u32_at(&f.payload, 4));
        eprintln!(
            "[abuse] peer never reads: PING writer held back after {pings_before} bytes \
             ({} PINGs, {took:?}), then took {pings_during} bytes during the normal calls, \
             {pings_total} bytes in all; \
             {pongs} PONGs waiting when finally read. Call writer after {calls_before} bytes \
             ({} calls): {}, {calls_during} bytes during the normal calls; then read: {} \
             frames, GOAWAY code {goaway:?}; {} calls ran. RSS {rss_before:?} KiB before, \
             {rss_held:?} held back",
            (pings_before - hello) / ping_len,
            (calls_before - hello) / call_len,
            match (calls_held, calls_error) {
                (true, None) => "held back".to_owned(),
                (_, error) => format!("closed by the server ({error:?})"),
            },
            answers.len(),
            abuse_codes(&mock),
        );
        // At most one PONG per PING; the mock's own memory stayed small (the backlog sits in
        // the kernel's socket buffers).
        assert!(pongs as u64 <= (pings_total - hello) / ping_len);
        if let (Some(before), Some(held)) = (rss_before, rss_held) {
            assert!(held < before + 64 * 1024, "RSS {before} KiB -> {held} KiB");
        }
        assert_no_panics();
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Headers byte by byte
//
// The mock cuts an HTTP/1.1 head that is not complete after 30 s (its connection watchdog,
// `src/watchdog.rs`), which `http1_heads_are_due_within_30_s` in `tests/it/robustness.rs`
// checks in paused time. This case runs in real time and checks what a few seconds show: many
// slow clients tie up no worker (normal calls stay fast), and they are waited on, neither
// answered nor dropped. For HTTP/2 the mock has no such deadline at all: a HEADERS frame dribbled byte by
// byte is waited on for as long as the peer keeps the connection open.

const SLOW_H1: usize = 50;
const SLOW_H2: usize = 10;
const DRIBBLE_EVERY: Duration = Duration::from_millis(250);
const DRIBBLE_FOR: Duration = Duration::from_millis(2500);

fn slow_h1_request() -> Vec<u8> {
    format!(
        "POST {REST_ADD} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {ABUSE_TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    )
    .into_bytes()
}

/// Writes `bytes` one at a time, every [`DRIBBLE_EVERY`], until `stop`; returns how many went.
async fn dribble(
    write: &mut (impl AsyncWriteExt + Unpin),
    bytes: &[u8],
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> usize {
    let mut n = 0;
    while n < bytes.len() && !stop.load(Ordering::SeqCst) {
        if write.write_all(&bytes[n..=n]).await.is_err() {
            break;
        }
        n += 1;
        sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(DRIBBLE_EVERY).await;
    }
    n
}

#[test]
fn headers_dribbled_byte_by_byte_block_no_one() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let h1_request = Arc::new(slow_h1_request());

        // HTTP/1.1: the request head, a byte at a time.
        let mut h1 = Vec::new();
        for _ in 0..SLOW_H1 {
            let (stop, sent, request) = (stop.clone(), sent.clone(), h1_request.clone());
            h1.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let n = dribble(&mut stream, &request, &stop, &sent).await;
                (stream, n)
            }));
        }
        // HTTP/2: preface and SETTINGS at once, then a whole call's HEADERS and DATA frames a
        // byte at a time.
        let mut h2 = Vec::new();
        for _ in 0..SLOW_H2 {
            let (stop, sent) = (stop.clone(), sent.clone());
            h2.push(tokio::spawn(async move {
                let mut connection = RawH2::open(addr, &[]).await;
                let mut call = Vec::new();
                wire::grpc_call(&mut call, 1, &connection.authority);
                let n = dribble(&mut connection.write, &call, &stop, &sent).await;
                (connection, call, n)
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let all_running =
            || h1.iter().all(|t| !t.is_finished()) && h2.iter().all(|t| !t.is_finished());
        let before = sent.load(Ordering::Relaxed);
        probe("headers byte by byte", addr, all_running).await;
        assert!(
            sent.load(Ordering::Relaxed) > before,
            "the dribbling went on"
        );
        tokio::time::sleep(DRIBBLE_FOR.saturating_sub(started.elapsed())).await;
        stop.store(true, Ordering::SeqCst);

        let mut h1_streams = Vec::new();
        for task in h1 {
            let (stream, n) = task.await.unwrap();
            assert!(n < h1_request.len());
            // Not answered, not closed: the server is still waiting for the head.
            if let Err(what) = silent_and_open(&stream).await {
                panic!("a slow HTTP/1.1 client after {n} bytes: {what:?}");
            }
            h1_streams.push((stream, n));
        }
        let mut h2_connections = Vec::new();
        for task in h2 {
            let (connection, call, n) = task.await.unwrap();
            assert!(n < call.len());
            connection.seen(|s| {
                assert!(
                    s.headers.is_empty() && s.goaway.is_none() && s.ended.is_none(),
                    "{s:?}"
                );
            });
            h2_connections.push((connection, call, n));
        }
        let h1_bytes = h1_streams[0].1;
        let h2_bytes = h2_connections[0].2;
        eprintln!(
            "[abuse] headers byte by byte: after {:?}, {SLOW_H1} HTTP/1.1 heads ({h1_bytes} of {} \
             bytes) and {SLOW_H2} HTTP/2 HEADERS ({h2_bytes} of {} bytes) still open and \
             unanswered",
            started.elapsed(),
            h1_request.len(),
            h2_connections[0].1.len()
        );

        // They were waited on, not dropped: finishing one of each gets it answered.
        let (mut stream, n) = h1_streams.pop().unwrap();
        stream.write_all(&h1_request[n..]).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 200 OK"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let (mut connection, call, n) = h2_connections.pop().unwrap();
        connection.write.write_all(&call[n..]).await.unwrap();
        assert!(
            connection
                .wait_for(Duration::from_secs(2), |s| s.headers.contains(&1)
                    && s.data_frames > 0)
                .await
        );
        assert_eq!(abuse_codes(&mock), 2);
        assert_no_panics();
    });
}

// ---------------------------------------------------------------------------------------------
// 5. Garbage, half-open and reset connections

/// A small fixed-seed generator (SplitMix64), so that the garbage is the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// How a garbage connection was answered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    /// An HTTP/1.1 status line with this status, then a close.
    Http(u16),
    /// HTTP/2 frames ending in GOAWAY with this code, then a close.
    GoAway(u32),
    /// Closed without a word.
    Closed,
    /// Reset by the server.
    Reset,
    /// Nothing within 3 s.
    Hung,
}

async fn garbage_connection(addr: SocketAddr, garbage: Vec<u8>) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before it has read everything; that is an answer too.
    let _ = stream.write_all(&garbage).await;
    let _ = stream.shutdown().await;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut got)).await;
    match read {
        Err(_) => Answer::Hung,
        Ok(result) => {
            if let Some(status) = got.strip_prefix(b"HTTP/1.1 ").and_then(|rest| {
                std::str::from_utf8(rest.get(..3)?)
                    .ok()?
                    .parse::<u16>()
                    .ok()
            }) {
                Answer::Http(status)
            } else if let Some(goaway) = wire::split(&got).iter().find(|f| f.kind == wire::GOAWAY) {
                Answer::GoAway(wire::u32_at(&goaway.payload, 4))
            } else if result.is_err() {
                Answer::Reset
            } else {
                Answer::Closed
            }
        }
    }
}

/// A request cut short, then the connection reset (SO_LINGER 0): HTTP/1.1 REST, HTTP/1.1
/// gRPC-web, or HTTP/2 gRPC.
async fn reset_mid_request(addr: SocketAddr, kind: usize) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let partial = match kind % 3 {
        0 => format!(
            "POST {REST_ADD} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {ABUSE_TOKEN}\r\n\
             content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"pad"
        )
        .into_bytes(),
        1 => {
            let mut out = format!(
                "POST {ADD_PATH} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer {ABUSE_TOKEN}\r\n\
                 content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n\
                 content-length: 5\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(&[0, 0]);
            out
        }
        _ => {
            let mut out = wire::PREFACE.to_vec();
            wire::settings(&mut out, &[]);
            wire::grpc_headers(&mut out, 1, &addr.to_string(), false);
            // Half of a DATA frame.
            let mut body = Vec::new();
            wire::grpc_body(&mut body, 1);
            out.extend_from_slice(&body[..11]);
            out
        }
    };
    write.write_all(&partial).await.unwrap();
    // Let the server get into the request, reading whatever it sends meanwhile.
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_millis(100), read.read(&mut buf)).await;
    let stream = read.reunite(write).unwrap();
    stream.set_zero_linger().unwrap();
    drop(stream);
}

#[test]
fn garbage_and_half_open_connections_take_nothing_down() {
    serially(|| async {
        let mock = start_mock().await;
        let addr = mock.local_addr();

        // Half a preface, then nothing, held open through the whole case.
        let mut half_open = Vec::new();
        for _ in 0..20 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&wire::PREFACE[..16]).await.unwrap();
            half_open.push(stream);
        }

        // 100 connections of random bytes (half of them after a valid preface), and 30 cut
        // short by a reset, spread over about a second.
        let storm = tokio::spawn(async move {
            let mut rng = SplitMix(0x5eed_ab05e);
            let mut garbage = tokio::task::JoinSet::new();
            let mut resets = tokio::task::JoinSet::new();
            for i in 0..100 {
                let len = 64 + (rng.next() % 4032) as usize;
                let mut bytes = if i % 2 == 0 {
                    Vec::new()
                } else {
                    wire::PREFACE.to_vec()
                };
                bytes.extend(rng.bytes(len));
                garbage.spawn(garbage_connection(addr, bytes));
                if i % 10 == 0 {
                    for kind in 0..3 {
                        resets.spawn(reset_mid_request(addr, i + kind));
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            while let Some(reset) = resets.join_next().await {
                reset.unwrap();
            }
            garbage.join_all().await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        probe("garbage and half-open connections", addr, || {
            !storm.is_finished()
        })
        .await;
        let answers = tokio::time::timeout(Duration::from_secs(10), storm)
            .await
            .expect("the garbage connections end")
            .unwrap();

        let mut tally = BTreeMap::<Answer, usize>::new();
        for answer in &answers {
            *tally.entry(answer.clone()).or_default() += 1;
        }
        assert!(!tally.contains_key(&Answer::Hung), "{tally:?}");
        assert!(
            answers
                .iter()
                .all(|a| !matches!(a, Answer::Http(s) if *s < 400)),
            "garbage was served: {tally:?}"
        );
        let mut half_open_state = BTreeMap::<String, usize>::new();
        for stream in &half_open {
            let state = match silent_and_open(stream).await {
                Ok(()) => "still open, nothing sent".to_owned(),
                Err(Ok(0)) => "closed".to_owned(),
                Err(Ok(n)) => panic!("{n} bytes answered to half a preface"),
                Err(Err(error)) => format!("reset ({})", error.kind()),
            };
            *half_open_state.entry(state).or_default() += 1;
        }
        eprintln!(
            "[abuse] garbage: 100 random connections answered {tally:?}; 30 reset mid-request; \
             20 half prefaces after the storm: {half_open_state:?}"
        );

        // Everything still works, on every transport, and nothing panicked.
        for via in ALL_VIAS {
            let response: AddMyPasswordlessLinkResponse = tokio::time::timeout(
                Duration::from_secs(5),
                call(
                    &mock.uri(),
                    via,
                    ADD,
                    AddMyPasswordlessLinkRequest {},
                    &[("authorization", "Bearer after-the-storm")],
                    "",
                ),
            )
            .await
            .unwrap_or_else(|_| panic!("{via:?} timed out"))
            .unwrap_or_else(|e| panic!("{via:?}: {e:?}"));
            assert!(response.link.contains("code="), "{via:?}");
        }
        let health = get(&format!("{}/__mock/health", mock.uri())).await.unwrap();
        assert_eq!(health.status, StatusCode::OK);
        normal_call(addr).await;
        assert_no_panics();
        drop(half_open);
    });
}
