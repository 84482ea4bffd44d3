//! A scriptable gRPC server on raw h2 (HTTP/2 with prior knowledge): each request is answered by
//! a list of steps (headers, data, trailers, waits, resets, silence, a slow drip), so a test can
//! send what no well-behaved server would. It binds 127.0.0.1 and stops with the test's runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::net::{TcpListener, TcpStream};

use crate::frames::message_frame;

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// One step of a scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// Response headers (`:status` and the rest); `true` ends the stream (trailers-only).
    Headers(u16, Vec<(&'static str, String)>, bool),
    /// A DATA frame; `true` ends the stream.
    Data(Vec<u8>, bool),
    /// Trailers (they end the stream).
    Trailers(Vec<(&'static str, String)>),
    /// Wait (on tokio's clock).
    Sleep(Duration),
    /// RST_STREAM with this reason.
    Reset(h2::Reason),
    /// Never answer (until the client gives up).
    Hang,
    /// Headers must come first: a frame that declares 1 MiB, then one byte every interval.
    Drip(Duration),
}

/// A normal unary answer carrying `message`.
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

/// A trailers-only error answer with these status headers.
pub fn error_steps(headers: Vec<(&'static str, String)>) -> Vec<Step> {
    let mut all = vec![("content-type", "application/grpc".to_owned())];
    all.extend(headers);
    vec![Step::Headers(200, all, true)]
}

type Script = Arc<dyn Fn(usize, &Seen) -> Vec<Step> + Send + Sync>;

/// The running fake: its address, the requests it saw, the connections it accepted.
#[derive(Clone)]
pub struct H2Fake {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request so far, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// How many connections it accepted.
    pub connections: Arc<AtomicUsize>,
}

impl std::fmt::Debug for H2Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Fake")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl H2Fake {
    /// Starts a fake on a free port; `script` gets the index of the request and the request.
    pub async fn start(
        script: impl Fn(usize, &Seen) -> Vec<Step> + Send + Sync + 'static,
    ) -> H2Fake {
        H2Fake::start_on("127.0.0.1:0".parse().unwrap(), script).await
    }

    /// Starts a fake on a given address (e.g. one that refused connections a moment ago).
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
                tokio::spawn(serve(socket, script.clone(), seen.clone()));
            }
        });
        fake
    }

    /// A fake answering every request with `steps`.
    pub async fn always(steps: Vec<Step>) -> H2Fake {
        H2Fake::start(move |_, _| steps.clone()).await
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(socket: TcpStream, script: Script, seen: Arc<Mutex<Vec<Seen>>>) {
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
            run(script(index, &request), respond).await;
        });
    }
}

async fn run(steps: Vec<Step>, mut respond: h2::server::SendResponse<Bytes>) {
    let mut stream: Option<h2::SendStream<Bytes>> = None;
    for step in steps {
        match step {
            Step::Headers(status, headers, end) => {
                let mut response = http::Response::builder().status(status);
                for (name, value) in headers {
                    response = response.header(name, value);
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
                for (name, value) in trailers {
                    map.append(name, value.parse().unwrap());
                }
                if let Some(s) = stream.as_mut() {
                    let _ = s.send_trailers(map);
                }
            }
            Step::Sleep(duration) => tokio::time::sleep(duration).await,
            Step::Reset(reason) => match stream.as_mut() {
                Some(s) => s.send_reset(reason),
                None => respond.send_reset(reason),
            },
            Step::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
            Step::Drip(interval) => {
                let Some(s) = stream.as_mut() else { return };
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
