//! One failure vocabulary (docs/wire-contract.md §3): the same answer gives an equal `Error` over
//! gRPC, gRPC-web and REST. Each row of the table is one answer, written the way each wire
//! carries it, served by one canned server (HTTP/1.1 and h2c on one port); the test asserts the
//! code, error id, message, kind, outcome and `Display` on every transport, against the row's
//! expectation written out by hand.
//!
//! Rows: every HTTP status 400 to 504 as a proxy's HTML page; every gRPC code and every error
//! ZITADEL gives for these calls, in ZITADEL's own encodings; and broken answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use zitadel_passkey::{Client, Code, Error, ErrorKind, RetryPolicy, Transport};

use crate::common::{TOKEN, b64, frame, link_response, status_bytes, trailer_frame};

/// The body of a canned answer: its data, then its trailers.
type CannedBody =
    StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// One answer as it travels: HTTP status, headers, body, and trailers if any.
#[derive(Debug, Clone, Default)]
struct Wire {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    trailers: Option<Vec<(&'static str, String)>>,
}

impl Wire {
    fn new(status: u16, content_type: &str) -> Wire {
        Wire {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            ..Wire::default()
        }
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Wire {
        self.body = body.into();
        self
    }

    fn headers(mut self, headers: Vec<(&'static str, String)>) -> Wire {
        self.headers.extend(headers);
        self
    }

    fn trailers(mut self, trailers: Vec<(&'static str, String)>) -> Wire {
        self.trailers = Some(trailers);
        self
    }

    fn response(&self) -> Response<CannedBody> {
        let mut frames = vec![];
        if !self.body.is_empty() {
            frames.push(Ok(Frame::data(Bytes::from(self.body.clone()))));
        }
        if let Some(trailers) = &self.trailers {
            let mut map = http::HeaderMap::new();
            for (name, value) in trailers {
                map.append(*name, HeaderValue::from_str(value).unwrap());
            }
            frames.push(Ok(Frame::trailers(map)));
        }
        let mut response = Response::new(StreamBody::new(futures::stream::iter(frames)));
        *response.status_mut() = http::StatusCode::from_u16(self.status).unwrap();
        for (name, value) in &self.headers {
            response.headers_mut().append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        response
    }
}

/// The same answer over each wire.
struct Row {
    name: String,
    grpc: Vec<Wire>,
    grpc_web: Vec<Wire>,
    json: Vec<Wire>,
    expected: Expected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    code: Code,
    error_id: Option<String>,
    message: String,
    kind: ErrorKind,
    outcome_unknown: bool,
    display: String,
}

fn expected(code: Code, error_id: Option<&str>, message: &str, kind: ErrorKind) -> Expected {
    let display = match error_id {
        Some(id) => format!("{code} ({id}): {message}"),
        None => format!("{code}: {message}"),
    };
    Expected {
        code,
        error_id: error_id.map(str::to_owned),
        message: message.to_owned(),
        kind,
        outcome_unknown: matches!(kind, ErrorKind::OutcomeUnknown | ErrorKind::Malformed)
            || code == Code::DeadlineExceeded,
        display,
    }
}

fn seen(error: &Error) -> Expected {
    Expected {
        code: error.code(),
        error_id: error.error_id().map(str::to_owned),
        message: error.message().to_owned(),
        kind: error.kind(),
        outcome_unknown: error.is_outcome_unknown(),
        display: error.to_string(),
    }
}

/// A server that answers every request with the current canned answer, over HTTP/1.1 or h2c.
struct Canned {
    url: String,
    answer: Arc<Mutex<Wire>>,
}

impl Canned {
    async fn start() -> Canned {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(Wire::default()));
        let shared = answer.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let answer = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let answer = answer.lock().unwrap().clone();
                        async move {
                            // Read the request first, as a server does before it answers.
                            let _ = request.into_body().collect().await;
                            Ok::<_, Infallible>(answer.response())
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Canned { url, answer }
    }

    async fn call(&self, client: &Client, wire: &Wire) -> Error {
        *self.answer.lock().unwrap() = wire.clone();
        client.add_passkey_link().await.expect_err("a failure")
    }
}

fn client(url: &str, transport: Transport) -> Client {
    Client::builder(url)
        .transport(transport)
        .token(TOKEN)
        .timeout(Duration::from_secs(10))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// `grpc-message` as grpc-go writes it: bytes outside printable ASCII, and `%`, percent-encoded.
fn grpc_message(message: &str) -> String {
    message
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `grpc-status`, `grpc-message` as grpc-go escapes it, and (with a detail)
/// `grpc-status-details-bin` (padded base64; the unpadded form grpc-go writes is read the same,
/// as the gRPC tests check). test-support's `error_headers` escapes the message the tonic way.
fn status_headers(
    code: i32,
    detail: Option<(&str, &str)>,
    message: &str,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("grpc-status", code.to_string()),
        ("grpc-message", grpc_message(message)),
    ];
    if let Some((id, detail_message)) = detail {
        let status = status_bytes(code, message, id, detail_message);
        headers.push(("grpc-status-details-bin", b64(&status)));
    }
    headers
}

const GRPC: &str = "application/grpc";
const GRPC_WEB: &str = "application/grpc-web+proto";
const JSON: &str = "application/json";

/// ZITADEL's status over each wire: grpc-go (HEADERS, then the status in trailers), the gRPC-web
/// wrapper (status in the headers, empty body; and, as other servers do, in a trailer frame),
/// the REST gateway (its table's HTTP status, a `google.rpc.Status` body).
fn zitadel_row(code: i32, http_status: u16, detail: Option<(&str, &str)>, message: &str) -> Row {
    let headers = status_headers(code, detail, message);
    let details: Vec<_> = detail
        .iter()
        .map(|(id, m)| serde_json::json!({"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": id, "message": m}))
        .collect();
    let body = serde_json::json!({"code": code, "message": message, "details": details});
    let expected_message = detail.map_or(message, |(_, m)| m);
    Row {
        name: format!("ZITADEL's {} {message:?}", Code::from_i32(code)),
        grpc: vec![
            Wire::new(200, GRPC).trailers(headers.clone()),
            // Trailers-only, as other gRPC servers answer errors.
            Wire::new(200, GRPC).headers(headers.clone()),
        ],
        grpc_web: vec![
            Wire::new(200, GRPC_WEB).headers(headers.clone()),
            Wire::new(200, GRPC_WEB).body(trailer_frame(&headers)),
        ],
        json: vec![Wire::new(http_status, JSON).body(body.to_string())],
        expected: expected(
            Code::from_i32(code),
            detail.map(|(id, _)| id),
            expected_message,
            ErrorKind::Rejected,
        ),
    }
}

/// A proxy's HTML page: the same bytes on every wire.
fn proxy_row(status: u16) -> Row {
    let page = Wire::new(status, "text/html; charset=utf-8").body(format!(
        "<html><body><h1>{status}</h1><p>nginx</p></body></html>"
    ));
    // gRPC's HTTP-to-status table, written out independently of the SDK's.
    let code = match status {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    let forwarded = status >= 500 || status == 408;
    let reason = http::StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    Row {
        name: format!("a proxy's HTTP {status} page"),
        grpc: vec![page.clone()],
        grpc_web: vec![page.clone()],
        json: vec![page],
        expected: expected(
            code,
            None,
            &format!("HTTP {status}{reason}: not an answer of ZITADEL (from a proxy?)"),
            if forwarded {
                ErrorKind::OutcomeUnknown
            } else {
                ErrorKind::Rejected
            },
        ),
    }
}

fn ok_trailers() -> Vec<(&'static str, String)> {
    vec![("grpc-status", "0".into())]
}

fn broken_rows() -> Vec<Row> {
    let malformed = |message: &str| expected(Code::Internal, None, message, ErrorKind::Malformed);
    let mut truncated_frame = frame(0, &[0x0a; 100]);
    truncated_frame.truncate(20);
    let huge_frame = {
        let mut header = vec![0u8];
        header.extend_from_slice(&(5u32 << 20).to_be_bytes());
        header
    };
    let link_json = serde_json::to_string(&link_response()).unwrap();
    vec![
        Row {
            name: "a success whose message does not decode".into(),
            grpc: vec![Wire::new(200, GRPC).body(frame(0, &[0x00])).trailers(ok_trailers())],
            grpc_web: vec![Wire::new(200, GRPC_WEB).body(
                [frame(0, &[0x00]), trailer_frame(&ok_trailers())].concat(),
            )],
            json: vec![
                Wire::new(200, JSON).body(r#"{"link": 7}"#),
                Wire::new(200, JSON).body("<html>not json</html>"),
            ],
            expected: malformed("the response message does not decode"),
        },
        Row {
            name: "a success cut short".into(),
            grpc: vec![Wire::new(200, GRPC).body(truncated_frame.clone())],
            grpc_web: vec![Wire::new(200, GRPC_WEB).body(truncated_frame)],
            json: vec![Wire::new(200, JSON).body(&link_json.as_bytes()[..40])],
            expected: malformed("the response ended early (truncated)"),
        },
        Row {
            name: "a success without a message".into(),
            grpc: vec![Wire::new(200, GRPC).trailers(ok_trailers())],
            grpc_web: vec![Wire::new(200, GRPC_WEB).body(trailer_frame(&ok_trailers()))],
            json: vec![Wire::new(200, JSON)],
            expected: malformed("the response has no message"),
        },
        Row {
            name: "a success larger than 4 MiB".into(),
            grpc: vec![Wire::new(200, GRPC).body(huge_frame.clone())],
            grpc_web: vec![Wire::new(200, GRPC_WEB).body(huge_frame)],
            json: vec![Wire::new(200, JSON).body(vec![b' '; 5 << 20])],
            expected: expected(
                Code::ResourceExhausted,
                None,
                "the response is larger than the limit of 4194304 bytes",
                ErrorKind::Malformed,
            ),
        },
        Row {
            name: "a 200 that is a web page".into(),
            grpc: vec![Wire::new(200, "text/html").body("<html></html>")],
            grpc_web: vec![Wire::new(200, "text/html").body("<html></html>")],
            json: vec![Wire::new(200, "text/html").body("<html></html>")],
            expected: malformed(r#"unexpected content-type "text/html": not an answer of ZITADEL"#),
        },
        Row {
            name: "ZITADEL's error with details that do not decode".into(),
            grpc: vec![Wire::new(200, GRPC).trailers(vec![
                ("grpc-status", "16".into()),
                ("grpc-message", "Errors.Token.Invalid (AUTH-7fs1e)".into()),
                ("grpc-status-details-bin", "!!not base64!!".into()),
            ])],
            grpc_web: vec![Wire::new(200, GRPC_WEB).headers(vec![
                ("grpc-status", "16".into()),
                ("grpc-message", "Errors.Token.Invalid (AUTH-7fs1e)".into()),
                ("grpc-status-details-bin", b64(b"\xff\xff not a status")),
            ])],
            json: vec![
                Wire::new(401, JSON).body(
                    r#"{"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)","details":"garbage"}"#,
                ),
                Wire::new(401, JSON).body(
                    r#"{"code":16,"message":"Errors.Token.Invalid (AUTH-7fs1e)","details":[{"@type":"type.googleapis.com/google.rpc.DebugInfo"}]}"#,
                ),
            ],
            expected: expected(
                Code::Unauthenticated,
                None,
                "Errors.Token.Invalid (AUTH-7fs1e)",
                ErrorKind::Rejected,
            ),
        },
        Row {
            name: "a 503 whose status says UNAUTHENTICATED (a proxy's: never resent)".into(),
            grpc: vec![
                Wire::new(503, GRPC).headers(status_headers(16, None, "Errors.Token.Invalid")),
            ],
            grpc_web: vec![
                Wire::new(503, GRPC_WEB).headers(status_headers(16, None, "Errors.Token.Invalid")),
            ],
            json: vec![
                Wire::new(503, JSON).body(r#"{"code":16,"message":"Errors.Token.Invalid"}"#),
            ],
            expected: expected(
                Code::Unavailable,
                None,
                "HTTP 503 Service Unavailable: not an answer of ZITADEL (from a proxy?)",
                ErrorKind::OutcomeUnknown,
            ),
        },
    ]
}

/// (code, HTTP status of ZITADEL's gateway table) for every error code.
const GATEWAY_TABLE: [(i32, u16); 16] = [
    (1, 499),
    (2, 500),
    (3, 400),
    (4, 504),
    (5, 404),
    (6, 409),
    (7, 403),
    (8, 429),
    (9, 400),
    (10, 409),
    (11, 400),
    (12, 501),
    (13, 500),
    (14, 503),
    (15, 500),
    (16, 401),
];

fn zitadel_rows() -> Vec<Row> {
    let mut rows = vec![];
    for &(code, http) in &GATEWAY_TABLE {
        let name = Code::from_i32(code).as_str();
        rows.push(zitadel_row(
            code,
            http,
            None,
            &format!("plain {name}: ünïcödé 100%"),
        ));
        rows.push(zitadel_row(
            code,
            http,
            Some(("TEST-1d", "Errors.Test")),
            &format!("Errors.Test {name} (TEST-1d)"),
        ));
    }
    // The errors ZITADEL gives for these calls (docs/wire-contract.md §3).
    rows.extend([
        zitadel_row(16, 401, None, "auth header missing"),
        zitadel_row(
            16,
            401,
            Some(("AUTH-7fs1e", "invalid auth header")),
            "invalid auth header (AUTH-7fs1e)",
        ),
        zitadel_row(
            16,
            401,
            Some(("AUTH-7fs1e", "Errors.Token.Invalid")),
            "Errors.Token.Invalid (AUTH-7fs1e)",
        ),
        zitadel_row(
            7,
            403,
            Some(("AUTH-Bs7Ds", "Organisation doesn't exist")),
            "Organisation doesn't exist (AUTH-Bs7Ds)",
        ),
        zitadel_row(
            9,
            400,
            Some(("COMMAND-GVfg3", "Errors.IDMissing")),
            "Errors.IDMissing (COMMAND-GVfg3)",
        ),
        zitadel_row(
            5,
            404,
            Some(("COMMAND-2M9fs", "Errors.User.WebAuthN.NotFound")),
            "Errors.User.WebAuthN.NotFound (COMMAND-2M9fs)",
        ),
    ]);
    rows
}

#[tokio::test]
async fn every_answer_reads_the_same_on_every_transport() {
    let server = Canned::start().await;
    let clients = [
        (Transport::Grpc, client(&server.url, Transport::Grpc)),
        (Transport::GrpcWeb, client(&server.url, Transport::GrpcWeb)),
        (Transport::Json, client(&server.url, Transport::Json)),
    ];
    let mut rows = zitadel_rows();
    rows.extend((400..=504).map(proxy_row));
    rows.extend(broken_rows());
    let mut mismatches = vec![];
    let mut checked = 0;
    for row in &rows {
        for (transport, client) in &clients {
            let wires = match transport {
                Transport::Grpc => &row.grpc,
                Transport::GrpcWeb => &row.grpc_web,
                _ => &row.json,
            };
            for (variant, wire) in wires.iter().enumerate() {
                let error = server.call(client, wire).await;
                checked += 1;
                assert_eq!(error.transport(), Some(*transport));
                if seen(&error) != row.expected {
                    mismatches.push(format!(
                        "{} over {transport} (variant {variant}):\n  expected {:?}\n  got      {:?}",
                        row.name,
                        row.expected,
                        seen(&error)
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} answers read differently:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(checked > 3 * 105, "{checked}");
}
