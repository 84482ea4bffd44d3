//! Raw fake servers for answers below gRPC: a port nothing listens on, an h2 server that only
//! says GOAWAY, an HTTP/1.1 server writing a fixed answer (optionally one byte at a time), and an
//! HTTP/1.1-only hyper server that counts connections. They bind 127.0.0.1 and stop with the
//! test's runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A port nothing listens on (bound, then released).
pub async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// An h2 server that answers the first HEADERS of a connection with a GOAWAY whose
/// last-stream-id is `last_stream_id`, then closes; counts the HEADERS it saw.
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
                // An empty SETTINGS frame.
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
                        // Acknowledge the client's SETTINGS.
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

/// An HTTP/1.1 server that reads a request head, writes `head` and then `body` (with
/// `interval`: one byte every interval, the body over and over, until the client leaves);
/// counts requests.
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

/// An HTTP/1.1-only hyper server answering every request with `content_type` and `body`;
/// counts connections and records the HTTP version of each request.
pub async fn http1_keepalive_server(
    content_type: &'static str,
    body: Vec<u8>,
) -> (SocketAddr, Arc<AtomicUsize>, Arc<Mutex<Vec<http::Version>>>) {
    use http_body_util::BodyExt as _;
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
