//! Fakes shared by the SDK's tests: a scriptable HTTP/2 gRPC server (h2), raw TCP servers for
//! what no well-behaved library would send, and helpers to build gRPC and gRPC-web bodies.
//! Everything binds to 127.0.0.1 and stops when the test's runtime ends.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zitadel_passkey::proto::google::rpc::Status;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::{ErrorDetail, ObjectDetails};
use zitadel_passkey::wkt::{Duration as PbDuration, Timestamp};
use zitadel_passkey::{BoxFuture, Client, RetryPolicy, Sleep, Transport};

pub const TOKEN: &str = "s3cr3t-t0ken-never-logged";
pub const CODE: &str = "kFfsO8OizZPS";
pub const LINK: &str = "http://localhost/ui/login/login/passwordless/init?userID=182156264229306625&orgID=165947650742997249&codeID=200949504189388947&code=kFfsO8OizZPS";

/// The response a real instance sends.
pub fn link_response() -> AddMyPasswordlessLinkResponse {
    AddMyPasswordlessLinkResponse {
        details: Some(ObjectDetails {
            sequence: 2,
            creation_date: Some(Timestamp::new(1_683_880_215, 120_000_000).unwrap()),
            change_date: None,
            resource_owner: "165947650742997249".into(),
        }),
        link: LINK.into(),
        expiration: Some(PbDuration::from_secs(3600).unwrap()),
    }
}

/// A length-prefixed gRPC / gRPC-web frame.
pub fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One message frame.
pub fn message_frame(message: &impl Message) -> Vec<u8> {
    frame(0, &message.encode_to_vec())
}

/// A gRPC-web trailer frame.
pub fn trailer_frame(trailers: &[(&str, String)]) -> Vec<u8> {
    let text: String = trailers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    frame(0x80, text.as_bytes())
}

/// ZITADEL's `google.rpc.Status` with one `ErrorDetail`, binary.
pub fn status_bytes(code: i32, message: &str, id: &str, detail_message: &str) -> Vec<u8> {
    let detail = ErrorDetail {
        id: id.into(),
        message: detail_message.into(),
    };
    Status {
        code,
        message: message.into(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/zitadel.v1.ErrorDetail".into(),
            value: detail.encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn b64_unpadded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// The gRPC status headers of a ZITADEL error (message percent-encoded as gRPC wants).
pub fn error_headers(
    code: i32,
    id: Option<(&str, &str)>,
    message: &str,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("grpc-status", code.to_string()),
        (
            "grpc-message",
            percent_encoding::utf8_percent_encode(message, percent_encoding::CONTROLS)
                .to_string()
                .replace(' ', "%20"),
        ),
    ];
    if let Some((id, detail)) = id {
        headers.push((
            "grpc-status-details-bin",
            b64(&status_bytes(code, message, id, detail)),
        ));
    }
    headers
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// One step of a scripted HTTP/2 answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// Response headers (`:status` and the rest); `true` ends the stream (trailers-only).
    Headers(u16, Vec<(&'static str, String)>, bool),
    /// A DATA frame; `true` ends the stream.
    Data(Vec<u8>, bool),
    /// HTTP/2 trailers (end the stream).
    Trailers(Vec<(&'static str, String)>),
    /// Wait.
    Sleep(Duration),
    /// RST_STREAM with this reason.
    Reset(h2::Reason),
    /// Never answer (until the client gives up).
    Hang,
    /// Send one byte of this data every interval, forever.
    Drip(Duration),
}

/// A normal unary answer.
pub fn ok_steps(message: &impl Message) -> Vec<Step> {
    vec![
        Step::Headers(
            200,
            vec![("content-type", "application/grpc".into())],
            false,
        ),
        Step::Data(message_frame(message), false),
        Step::Trailers(vec![("grpc-status", "0".into())]),
    ]
}

/// A trailers-only error answer.
pub fn error_steps(headers: Vec<(&'static str, String)>) -> Vec<Step> {
    let mut all = vec![("content-type", "application/grpc".to_owned())];
    all.extend(headers);
    vec![Step::Headers(200, all, true)]
}

type Script = Arc<dyn Fn(usize, &Seen) -> Vec<Step> + Send + Sync>;

/// A gRPC server on raw h2 (HTTP/2 with prior knowledge), answering each request by a script.
#[derive(Clone)]
pub struct H2Fake {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
}

impl H2Fake {
    pub async fn start(
        script: impl Fn(usize, &Seen) -> Vec<Step> + Send + Sync + 'static,
    ) -> H2Fake {
        H2Fake::start_on("127.0.0.1:0".parse().unwrap(), script).await
    }

    /// On a given address (e.g. one that refused connections a moment ago).
    pub async fn start_on(
        addr: SocketAddr,
        script: impl Fn(usize, &Seen) -> Vec<Step> + Send + Sync + 'static,
    ) -> H2Fake {
        let listener = TcpListener::bind(addr).await.unwrap();
        let fake = H2Fake {
            addr: listener.local_addr().unwrap(),
            seen: Arc::default(),
            connections: Arc::default(),
        };
        let script: Script = Arc::new(script);
        let (seen, connections) = (fake.seen.clone(), fake.connections.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_h2(socket, script.clone(), seen.clone()));
            }
        });
        fake
    }

    /// The same script for every request.
    pub async fn always(steps: Vec<Step>) -> H2Fake {
        H2Fake::start(move |_, _| steps.clone()).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_h2(socket: TcpStream, script: Script, seen: Arc<Mutex<Vec<Seen>>>) {
    let Ok(mut connection) = h2::server::handshake(socket).await else {
        return;
    };
    while let Some(Ok((request, respond))) = connection.accept().await {
        let (script, seen) = (script.clone(), seen.clone());
        tokio::spawn(async move {
            let (parts, mut body) = request.into_parts();
            let mut bytes = Vec::new();
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
                bytes.extend_from_slice(&chunk);
            }
            let request = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                headers: parts.headers,
                body: Bytes::from(bytes),
            };
            let index = {
                let mut seen = seen.lock().unwrap();
                seen.push(request.clone());
                seen.len() - 1
            };
            run_steps(script(index, &request), respond).await;
        });
    }
}

async fn run_steps(steps: Vec<Step>, mut respond: h2::server::SendResponse<Bytes>) {
    let mut stream: Option<h2::SendStream<Bytes>> = None;
    for step in steps {
        match step {
            Step::Headers(status, headers, end) => {
                let mut response = http::Response::builder().status(status);
                for (k, v) in headers {
                    response = response.header(k, v);
                }
                let Ok(s) = respond.send_response(response.body(()).unwrap(), end) else {
                    return;
                };
                stream = Some(s);
            }
            Step::Data(data, end) => {
                if let Some(s) = stream.as_mut() {
                    s.reserve_capacity(data.len());
                    let _ = s.send_data(Bytes::from(data), end);
                }
            }
            Step::Trailers(trailers) => {
                let mut map = http::HeaderMap::new();
                for (k, v) in trailers {
                    map.insert(k, v.parse().unwrap());
                }
                if let Some(s) = stream.as_mut() {
                    let _ = s.send_trailers(map);
                }
            }
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Reset(reason) => match stream.as_mut() {
                Some(s) => s.send_reset(reason),
                None => respond.send_reset(reason),
            },
            Step::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Step::Drip(interval) => {
                let Some(s) = stream.as_mut() else { return };
                // A frame that declares 1 MiB, then one byte at a time.
                let _ = s.send_data(Bytes::from_static(&[0, 0, 0x10, 0, 0]), false);
                loop {
                    tokio::time::sleep(interval).await;
                    if s.send_data(Bytes::from_static(&[0]), false).is_err() {
                        return;
                    }
                }
            }
        }
    }
    // Keep the stream alive until the client is done with it.
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// A port nothing listens on (bound, then released).
pub async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A raw HTTP/2 server that answers the first request's HEADERS with a GOAWAY whose
/// last-stream-id is `last_stream_id`, then closes. Counts connections and HEADERS seen.
pub async fn goaway_server(last_stream_id: u32) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut preface = [0u8; 24];
                if socket.read_exact(&mut preface).await.is_err() {
                    return;
                }
                // Our SETTINGS (empty).
                let _ = socket.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
                loop {
                    let mut head = [0u8; 9];
                    if socket.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                    let (kind, flags) = (head[3], head[4]);
                    let mut payload = vec![0u8; length];
                    if socket.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    if kind == 4 && flags & 1 == 0 {
                        // SETTINGS ack.
                        let _ = socket.write_all(&[0, 0, 0, 4, 1, 0, 0, 0, 0]).await;
                    }
                    if kind == 1 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let mut goaway = vec![0, 0, 8, 7, 0, 0, 0, 0, 0];
                        goaway.extend_from_slice(&last_stream_id.to_be_bytes());
                        goaway.extend_from_slice(&0u32.to_be_bytes()); // NO_ERROR
                        let _ = socket.write_all(&goaway).await;
                        let _ = socket.flush().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        return;
                    }
                }
            });
        }
    });
    (addr, requests)
}

/// A raw HTTP/1.1 server: reads a request head, writes `head` and then `body`, byte by byte
/// every `interval` if one is given; counts requests.
pub async fn http1_server(
    head: String,
    body: Vec<u8>,
    interval: Option<Duration>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, body, counter) = (head.clone(), body.clone(), counter.clone());
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buf = [0u8; 4096];
                while !received.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket.write_all(head.as_bytes()).await;
                match interval {
                    None => {
                        let _ = socket.write_all(&body).await;
                    }
                    Some(interval) => {
                        for byte in body.iter().cycle() {
                            if socket.write_all(&[*byte]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(interval).await;
                        }
                    }
                }
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            });
        }
    });
    (addr, requests)
}

/// A [`Sleep`] that returns at once and records what it was asked to wait; runs a hook first.
#[derive(Clone, Default)]
pub struct RecordingSleep {
    pub waits: Arc<Mutex<Vec<Duration>>>,
    pub hook: Option<Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>>,
}

impl std::fmt::Debug for RecordingSleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSleep").finish()
    }
}

impl RecordingSleep {
    /// Runs `hook` (once per wait) before returning.
    pub fn with_hook(
        hook: impl Fn() -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> RecordingSleep {
        RecordingSleep {
            waits: Arc::default(),
            hook: Some(Arc::new(hook)),
        }
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.waits.lock().unwrap().push(duration);
        match &self.hook {
            Some(hook) => hook(),
            None => Box::pin(async {}),
        }
    }
}

/// An HTTP/1.1-only hyper server answering every request with `status`, `content_type` and
/// `body`; counts connections and records the HTTP version of each request.
pub async fn http1_keepalive_server(
    content_type: &'static str,
    body: Vec<u8>,
) -> (SocketAddr, Arc<AtomicUsize>, Arc<Mutex<Vec<http::Version>>>) {
    use hyper::service::service_fn;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let versions = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (connections.clone(), versions.clone());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (body, seen) = (body.clone(), seen.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    seen.lock().unwrap().push(request.version());
                    let body = body.clone();
                    async move {
                        use http_body_util::BodyExt;
                        let _ = request.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .header("content-type", content_type)
                                .body(http_body_util::Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (addr, connections, versions)
}

/// A client of `transport` with the test token, a 5 s deadline, and retries whose sleeps are
/// only recorded, so a test never waits.
pub fn test_client(url: &str, transport: Transport) -> Client {
    Client::builder(url)
        .transport(transport)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::default().with_sleep(RecordingSleep::default()))
        .build()
        .unwrap()
}

/// A wiremock server answering exactly one `POST path` with `template` (it fails the test when
/// it sees more: no retry happened).
pub async fn answering_once(
    path: &str,
    template: wiremock::ResponseTemplate,
) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(path))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    server
}
