//! The SDK against answers it did not expect: a link in any shape, and whole gRPC, gRPC-web and
//! REST answers from a loopback server that says whatever the fuzzer wants.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::ObjectDetails;
use zitadel_passkey::wkt::{Duration, Timestamp};
use zitadel_passkey::{Client, Code, Error, ErrorKind, PasskeyLink, RetryPolicy, Transport};

use crate::harness::{self, block_on, serve_loopback};

/// The token every client sends: it must never show in an error.
const TOKEN: &str = "fuzz-canary-token-8c1f2e";

#[derive(Arbitrary, Debug)]
struct LinkInput {
    link: String,
    expiration: Option<(i64, i32)>,
    creation: Option<(i64, i32)>,
    change: Option<(i64, i32)>,
    sequence: u64,
    resource_owner: String,
}

/// A link as a server might send it: either it is refused, or the SDK's printed forms hold no
/// value of a `code` parameter (in any spelling a parser reads as `code`).
pub(crate) fn link(data: &[u8]) {
    let Ok(input) = LinkInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let timestamp = |(seconds, nanos)| Timestamp { seconds, nanos };
    let raw = AddMyPasswordlessLinkResponse {
        details: Some(ObjectDetails {
            sequence: input.sequence,
            creation_date: input.creation.map(timestamp),
            change_date: input.change.map(timestamp),
            resource_owner: input.resource_owner,
        }),
        link: input.link,
        expiration: input
            .expiration
            .map(|(seconds, nanos)| Duration { seconds, nanos }),
    };
    let raw_debug = format!("{raw:?}");
    let Ok(link) = PasskeyLink::try_from(raw) else {
        return;
    };
    let redacted = link.redacted_url();
    assert_redacted(&redacted);
    assert_eq!(link.to_string(), redacted);
    assert!(format!("{link:?}").contains(&format!("{redacted:?}")));
    assert!(raw_debug.contains(&format!("{redacted:?}")), "{raw_debug}");
    assert!(!link.url().is_empty());
}

/// Every query value whose key reads as `code` (percent- and form-decoded, any case), by the
/// WHATWG parser (browsers, the login page) and by a plain split, is `***`.
fn assert_redacted(redacted: &str) {
    if let Ok(url) = url::Url::parse(redacted) {
        for (key, value) in url.query_pairs() {
            if key.eq_ignore_ascii_case("code") {
                assert_eq!(value, "***", "a code left in {redacted:?}");
            }
        }
    }
    let query = redacted.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key.eq_ignore_ascii_case("code") {
            assert_eq!(value, "***", "a code left in {redacted:?}");
        }
    }
}

/// Which call the client makes.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Call {
    Add,
    Send,
    List,
    Remove,
}

/// How the gRPC answer's stream ends after its data.
#[derive(Arbitrary, Debug, Clone)]
enum End {
    /// With the data (no trailers).
    Data,
    /// With trailers: `grpc-status`, `grpc-message`, `grpc-status-details-bin` and any other.
    Trailers {
        status: Option<Vec<u8>>,
        message: Option<Vec<u8>>,
        details: Option<Vec<u8>>,
        other: Vec<(String, Vec<u8>)>,
    },
    /// RST_STREAM with this error code.
    Reset(u32),
    /// The connection closes under the stream.
    Close,
}

#[derive(Arbitrary, Debug, Clone)]
struct GrpcAnswer {
    call: Call,
    status: u16,
    content_type: Option<Vec<u8>>,
    /// Headers of the answer's head (`grpc-status` here makes a trailers-only answer).
    headers: Vec<(String, Vec<u8>)>,
    data: Vec<Vec<u8>>,
    end: End,
}

impl GrpcAnswer {
    /// The HTTP status the server sends (an invalid or informational one becomes 200).
    fn http_status(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.status)
            .ok()
            .filter(|s| !s.is_informational())
            .unwrap_or(http::StatusCode::OK)
    }

    /// The head's fields that are valid HTTP, the content type first.
    fn head_fields(&self) -> Vec<(http::HeaderName, http::HeaderValue)> {
        let content_type = self
            .content_type
            .iter()
            .map(|value| ("content-type".to_owned(), value.clone()));
        valid_fields(content_type.chain(self.headers.iter().cloned()))
    }

    /// The trailer fields that are valid HTTP, if the answer ends with trailers.
    fn trailer_fields(&self) -> Vec<(http::HeaderName, http::HeaderValue)> {
        let End::Trailers {
            status,
            message,
            details,
            other,
        } = &self.end
        else {
            return Vec::new();
        };
        let named = [
            ("grpc-status", status),
            ("grpc-message", message),
            ("grpc-status-details-bin", details),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value.clone()?)));
        valid_fields(named.chain(other.iter().cloned()))
    }

    /// Every `grpc-status` the answer carries, in its head and its trailers, as numbers
    /// (`None` for one that is not a number).
    fn carried_statuses(&self) -> Vec<Option<i32>> {
        let mut fields = self.head_fields();
        fields.extend(self.trailer_fields());
        fields
            .iter()
            .filter(|(name, _)| name == "grpc-status")
            .map(|(_, value)| {
                let text = value.to_str().ok()?.trim();
                text.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| text.parse().ok())
                    .flatten()
            })
            .collect()
    }

    fn ends_in_head(&self) -> bool {
        self.data.is_empty() && matches!(self.end, End::Data)
    }
}

/// The gRPC server the SDK calls: it answers every request with the current [`GrpcAnswer`].
struct GrpcServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Option<GrpcAnswer>>>,
}

fn grpc_server() -> &'static GrpcServer {
    static SERVER: OnceLock<GrpcServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let answer = Arc::new(Mutex::new(None::<GrpcAnswer>));
        let current = answer.clone();
        let addr = serve_loopback(move |socket| {
            let current = current.clone();
            async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                let close = Arc::new(Notify::new());
                loop {
                    tokio::select! {
                        accepted = connection.accept() => {
                            let Some(Ok((request, respond))) = accepted else { return };
                            let answer = current.lock().expect("answer lock").clone();
                            let Some(answer) = answer else { return };
                            tokio::spawn(serve_grpc(request, respond, answer, close.clone()));
                        }
                        () = close.notified() => return,
                    }
                }
            }
        });
        GrpcServer { addr, answer }
    })
}

async fn serve_grpc(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    answer: GrpcAnswer,
    close: Arc<Notify>,
) {
    // Read the whole request first: the call reached the server, whatever comes back.
    let mut body = request.into_body();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let mut head = http::Response::new(());
    *head.status_mut() = answer.http_status();
    for (name, value) in answer.head_fields() {
        head.headers_mut().append(name, value);
    }
    let Ok(mut send) = respond.send_response(head, answer.ends_in_head()) else {
        return;
    };
    if answer.ends_in_head() {
        return;
    }
    let last = answer.data.len().saturating_sub(1);
    for (i, chunk) in answer.data.iter().enumerate() {
        let end = i == last && matches!(answer.end, End::Data);
        if send.send_data(Bytes::copy_from_slice(chunk), end).is_err() {
            return;
        }
    }
    match answer.end {
        End::Data => {}
        End::Trailers { .. } => {
            let mut trailers = http::HeaderMap::new();
            for (name, value) in answer.trailer_fields() {
                trailers.append(name, value);
            }
            let _ = send.send_trailers(trailers);
        }
        End::Reset(code) => send.send_reset(h2::Reason::from(code)),
        End::Close => close.notify_one(),
    }
}

/// The (name, value) pairs that are a valid HTTP field.
fn valid_fields(
    pairs: impl Iterator<Item = (String, Vec<u8>)>,
) -> Vec<(http::HeaderName, http::HeaderValue)> {
    pairs
        .filter_map(|(name, value)| {
            Some((
                http::HeaderName::try_from(name).ok()?,
                http::HeaderValue::from_bytes(&value).ok()?,
            ))
        })
        .collect()
}

/// A client of `transport` for a server at `addr`: no retries (one answer, one attempt) and a
/// deadline far above how long a healthy exchange takes, so an expired one means a hang.
fn client(addr: SocketAddr, transport: Transport) -> Client {
    Client::builder(format!("http://{addr}"))
        .transport(transport)
        .token(TOKEN)
        .allow_insecure_http(true)
        .retry_policy(RetryPolicy::none())
        .timeout(harness::HANG)
        .build()
        .expect("a client for loopback")
}

/// Makes `call` and checks what every call must give: no hang, no token in the error, and a
/// link's code never printed.
async fn make(client: &Client, call: Call) -> Result<(), Error> {
    match call {
        Call::Add => {
            let link = client.add_passkey_link().await?;
            assert_redacted(&link.to_string());
        }
        Call::Send => drop(client.send_passkey_link().await?),
        Call::List => drop(client.list_passkeys().await?),
        Call::Remove => drop(client.remove_passkey("fuzz-passkey").await?),
    }
    Ok(())
}

fn check_error(error: &Error) {
    assert!(
        error.kind() != ErrorKind::Timeout,
        "the SDK waited out its deadline on an answer that had ended: {error:?}"
    );
    for printed in [format!("{error}"), format!("{error:?}")] {
        assert!(!printed.contains(TOKEN), "the token in an error: {printed}");
    }
}

/// A whole gRPC answer (head, data frames, trailers or a reset) to one call. Besides the
/// checks of every call: a success needs HTTP 200 and `grpc-status: 0`; "not sent" only
/// when the server refused the stream (it promises it did nothing); a rejection carries
/// the server's code.
pub(crate) fn grpc_answer(data: &[u8]) {
    let Ok(answer) = GrpcAnswer::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let server = grpc_server();
    *server.answer.lock().expect("answer lock") = Some(answer.clone());
    let result = block_on(async {
        let client = client(server.addr, Transport::Grpc);
        make(&client, answer.call).await
    });
    let carried = answer.carried_statuses();
    let status = answer.http_status();
    match result {
        Ok(()) => {
            assert_eq!(status, http::StatusCode::OK, "a success on HTTP {status}");
            assert!(
                !carried.is_empty() && carried.iter().all(|s| *s == Some(0)),
                "a success without grpc-status 0: {carried:?}"
            );
        }
        Err(error) => {
            check_error(&error);
            if error.kind() == ErrorKind::NotSent {
                assert!(
                    matches!(answer.end, End::Reset(7)),
                    "\"not sent\" for a request the server read: {error:?}"
                );
            }
            if error.kind() == ErrorKind::Rejected && status == http::StatusCode::OK {
                // A code past gRPC's sixteen reads as UNKNOWN, as gRPC's status codes say.
                let sent = |code: i32| carried.contains(&Some(code));
                let unknown_sent = carried.iter().flatten().any(|code| *code > 16);
                assert!(
                    sent(error.code().as_i32()) || (error.code() == Code::Unknown && unknown_sent),
                    "a rejection with a code the server did not send: {error:?}, sent {carried:?}"
                );
            }
        }
    }
}

/// The HTTP/1.1 server the gRPC-web and REST clients call: it reads one request and answers it
/// with the current bytes, then closes.
struct RawServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Vec<u8>>>,
}

fn raw_server() -> &'static RawServer {
    static SERVER: OnceLock<RawServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let answer = Arc::new(Mutex::new(Vec::new()));
        let current = answer.clone();
        let addr = serve_loopback(move |mut socket| {
            let current = current.clone();
            async move {
                if read_request(&mut socket).await.is_none() {
                    return;
                }
                let answer = current.lock().expect("answer lock").clone();
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            }
        });
        RawServer { addr, answer }
    })
}

/// Reads one HTTP/1.1 request with a `content-length` body (what the SDK sends), or `None` if
/// the connection ends first.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<()> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buffer[..n]);
        let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&seen[..at]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if seen.len() >= at + 4 + length {
            return Some(());
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Http1Answer {
    call: Call,
    web: bool,
    bytes: Vec<u8>,
}

/// Whatever bytes come back on HTTP/1.1, to a gRPC-web or a REST call: besides the checks of
/// every call, the request was read, so never "not sent".
pub(crate) fn http1_answer(data: &[u8]) {
    let Ok(answer) = Http1Answer::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let server = raw_server();
    *server.answer.lock().expect("answer lock") = answer.bytes;
    let transport = if answer.web {
        Transport::GrpcWeb
    } else {
        Transport::Json
    };
    let result = block_on(async {
        let client = client(server.addr, transport);
        make(&client, answer.call).await
    });
    if let Err(error) = result {
        check_error(&error);
        assert!(
            error.kind() != ErrorKind::NotSent,
            "\"not sent\" for a request the server read: {error:?}"
        );
    }
}
