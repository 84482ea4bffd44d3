//! The mock against requests nobody should send: gRPC and gRPC-web calls with any head and
//! body, REST calls with any body, admin calls with any JSON, raw bytes on the port, and forged
//! passkeys posted to the login page ([`login_page`]). It must never panic, never hang, and
//! answer bad input as ZITADEL's stack does: a 4xx or a gRPC status, never a 5xx nor
//! `grpc-status` UNKNOWN or INTERNAL it made up.

mod login_page;

use std::net::SocketAddr;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::net::TcpStream;
use zitadel_passkey::proto::http_rules::ALL;
use zitadel_passkey_mock::MockServer;

use crate::harness::{block_on, body_of, http1_exchange, status_of, within};

pub(crate) use login_page::login;

/// The token the mock knows (it accepts any other well-formed token too, as a derived user).
const TOKEN: &str = "fuzz-known-token";

/// One mock for the whole run, reset before every input so that no input sees another's state.
fn mock() -> &'static MockServer {
    static MOCK: OnceLock<MockServer> = OnceLock::new();
    let mock = MOCK.get_or_init(|| {
        block_on(
            MockServer::builder()
                .seed(7)
                .user(TOKEN, "fuzz-user", "fuzz-org")
                .start(),
        )
        .expect("start the mock")
    });
    mock.reset();
    mock
}

/// A request field: one the mock reads, or any name.
#[derive(Arbitrary, Debug)]
enum Field {
    Authorization(Vec<u8>),
    BearerKnown,
    GrpcTimeout(Vec<u8>),
    OrgId(Vec<u8>),
    AcceptLanguage(Vec<u8>),
    Origin(Vec<u8>),
    Te(Vec<u8>),
    Other(String, Vec<u8>),
}

impl Field {
    fn pair(&self) -> (String, Vec<u8>) {
        let named = |name: &str, value: &[u8]| (name.to_owned(), value.to_vec());
        match self {
            Field::Authorization(value) => named("authorization", value),
            Field::BearerKnown => named("authorization", format!("Bearer {TOKEN}").as_bytes()),
            Field::GrpcTimeout(value) => named("grpc-timeout", value),
            Field::OrgId(value) => named("x-zitadel-orgid", value),
            Field::AcceptLanguage(value) => named("accept-language", value),
            Field::Origin(value) => named("origin", value),
            Field::Te(value) => named("te", value),
            Field::Other(name, value) => (name.clone(), value.clone()),
        }
    }
}

/// The RPC a path names: one of the service's, or any path.
#[derive(Arbitrary, Debug)]
enum RpcPath {
    Known(u8),
    Any(String),
}

impl RpcPath {
    fn grpc(&self) -> String {
        match self {
            RpcPath::Known(i) => ALL[usize::from(*i) % ALL.len()].grpc_path.to_owned(),
            RpcPath::Any(path) => path.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum ContentType {
    Grpc,
    GrpcProto,
    GrpcWeb,
    GrpcWebProto,
    GrpcWebText,
    Any(Vec<u8>),
}

impl ContentType {
    fn value(&self) -> Vec<u8> {
        match self {
            ContentType::Grpc => b"application/grpc".to_vec(),
            ContentType::GrpcProto => b"application/grpc+proto".to_vec(),
            ContentType::GrpcWeb => b"application/grpc-web".to_vec(),
            ContentType::GrpcWebProto => b"application/grpc-web+proto".to_vec(),
            ContentType::GrpcWebText => b"application/grpc-web-text".to_vec(),
            ContentType::Any(value) => value.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct GrpcCall {
    path: RpcPath,
    content_type: ContentType,
    fields: Vec<Field>,
    /// The body as the client writes it, chunk by chunk (frames are the fuzzer's to make).
    body: Vec<Vec<u8>>,
    /// Reset the stream instead of ending it.
    reset: Option<u32>,
}

/// A gRPC or gRPC-web call over HTTP/2 with any head and body. The answer must come, and an
/// answer in a gRPC content type must be HTTP 200 with a known `grpc-status`; UNKNOWN and
/// INTERNAL only where grpc-go itself answers them (a body that does not decode).
pub(crate) fn grpc(data: &[u8]) {
    let Ok(call) = GrpcCall::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let addr = mock().local_addr();
    let Some(answer) = block_on(within("a gRPC call to the mock", send_h2(addr, &call))) else {
        return;
    };
    let (status, content_type, grpc_status) = answer;
    if !content_type.starts_with("application/grpc") {
        assert!(status < 500, "HTTP {status} from the mock");
        return;
    }
    assert_eq!(status, 200, "a gRPC answer on HTTP {status}");
    let code = grpc_status.expect("a gRPC answer without grpc-status");
    assert!((0..=16).contains(&code), "grpc-status {code}");
    assert_ne!(code, 2, "grpc-status UNKNOWN from the mock");
}

/// The HTTP status, content type and `grpc-status` (head or trailers) of the answer, or `None`
/// if the request could not be sent (a field HTTP/2 refuses) or the stream was reset.
async fn send_h2(addr: SocketAddr, call: &GrpcCall) -> Option<(u16, String, Option<i32>)> {
    let tcp = TcpStream::connect(addr).await.expect("connect to the mock");
    // Without it, Nagle's algorithm and delayed ACKs hold h2's small writes for 40 ms.
    let _ = tcp.set_nodelay(true);
    let (client, connection) = h2::client::handshake(tcp).await.ok()?;
    tokio::spawn(connection);
    let mut client = client.ready().await.ok()?;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{}", call.path.grpc()))
        .body(())
        .ok()?;
    let content_type = http::HeaderValue::from_bytes(&call.content_type.value()).ok()?;
    request.headers_mut().insert("content-type", content_type);
    for field in &call.fields {
        let (name, value) = field.pair();
        let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name),
            http::HeaderValue::from_bytes(&value),
        ) else {
            continue;
        };
        request.headers_mut().append(name, value);
    }
    let ends_at_once = call.body.is_empty() && call.reset.is_none();
    let (response, mut send) = client.send_request(request, ends_at_once).ok()?;
    if !ends_at_once {
        let last = call.body.len().saturating_sub(1);
        for (i, chunk) in call.body.iter().enumerate() {
            let end = i == last && call.reset.is_none();
            if send.send_data(Bytes::copy_from_slice(chunk), end).is_err() {
                break;
            }
        }
        if let Some(code) = call.reset {
            send.send_reset(h2::Reason::from(code));
        }
    }
    let response = response.await.ok()?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let code_of = |headers: &http::HeaderMap| {
        headers.get("grpc-status").map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<i32>().ok())
                .unwrap_or(-1)
        })
    };
    let mut grpc_status = code_of(response.headers());
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return None };
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    if grpc_status.is_none() {
        let trailers = body.trailers().await.ok()?;
        grpc_status = trailers.as_ref().and_then(code_of);
    }
    Some((status, content_type, grpc_status))
}

#[derive(Arbitrary, Debug)]
struct RestCall {
    rule: u8,
    /// Replaces the `{field}` segment of a rule that has one.
    segment: String,
    query: Option<String>,
    content_type: Option<Vec<u8>>,
    fields: Vec<Field>,
    body: Vec<u8>,
}

/// A REST call with any body, query and head to one of the gateway's routes. The answer must
/// come and be a 2xx or a 4xx; a 4xx from a route carries the gateway's error body, a
/// `google.rpc.Status` whose code maps to that HTTP status.
pub(crate) fn rest(data: &[u8]) {
    let Ok(call) = RestCall::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let rule = &ALL[usize::from(call.rule) % ALL.len()];
    let path = match rule.path.split_once('{') {
        Some((before, after)) => {
            let after = after.split_once('}').map_or("", |(_, rest)| rest);
            let segment = percent_encode_segment(&call.segment);
            format!("{before}{segment}{after}")
        }
        None => rule.path.to_owned(),
    };
    let target = match &call.query {
        Some(query) => format!("{path}?{}", percent_encode_query(query)),
        None => path,
    };
    let mut fields: Vec<(String, Vec<u8>)> = call
        .content_type
        .iter()
        .map(|value| ("content-type".to_owned(), value.clone()))
        .collect();
    fields.extend(call.fields.iter().map(Field::pair));
    let head = request(rule.verb, &target, &fields, &call.body);
    let addr = mock().local_addr();
    let answer = block_on(http1_exchange(addr, &head, false));
    let Some(status) = status_of(&answer) else {
        // A head the mock's HTTP/1.1 parser refused, answered by closing.
        return;
    };
    assert!(
        status < 500,
        "HTTP {status} from the mock: {}",
        String::from_utf8_lossy(&answer)
    );
    if status >= 400 && status != 404 && status != 405 && status != 431 && status != 400 {
        assert_gateway_error(status, &answer);
    }
}

/// A gateway error: JSON `{"code", "message"[, "details"]}` with a code for this HTTP status.
fn assert_gateway_error(status: u16, answer: &[u8]) {
    let body = body_of(answer);
    let Ok(error) = serde_json::from_slice::<serde_json::Value>(body) else {
        panic!(
            "HTTP {status} without a JSON error body: {}",
            String::from_utf8_lossy(answer)
        );
    };
    let code = error["code"].as_i64().expect("an error code");
    let code = zitadel_passkey::Code::from_i32(i32::try_from(code).expect("a code in range"));
    assert_eq!(code.http_status(), status, "{error}");
    assert!(error["message"].is_string(), "{error}");
    // ZITADEL's gateway leaves `details` out when there are none (docs/wire-contract.md).
    assert!(
        error.get("details").is_none_or(serde_json::Value::is_array),
        "{error}"
    );
}

#[derive(Arbitrary, Debug)]
struct AdminCall {
    route: u8,
    segment: String,
    body: Vec<u8>,
    json_content_type: bool,
}

/// The admin API's routes that take a body, and the ones that do not (with any body).
const ADMIN: &[(&str, &str)] = &[
    ("POST", "/__mock/faults"),
    ("POST", "/__mock/users"),
    ("POST", "/__mock/users/{}/passkeys"),
    ("POST", "/__mock/clock/advance"),
    ("POST", "/__mock/reset"),
    ("GET", "/__mock/journal"),
    ("GET", "/__mock/codes"),
    ("GET", "/__mock/faults"),
    ("DELETE", "/__mock/faults"),
];

/// An admin call with any JSON: answered with a 2xx or a 4xx, and the mock still serves a
/// call afterwards (a fault it accepted aside, which the reset before the next input clears).
pub(crate) fn admin(data: &[u8]) {
    let Ok(call) = AdminCall::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (verb, path) = ADMIN[usize::from(call.route) % ADMIN.len()];
    let path = path.replace("{}", &percent_encode_segment(&call.segment));
    let fields: Vec<(String, Vec<u8>)> = call
        .json_content_type
        .then(|| ("content-type".to_owned(), b"application/json".to_vec()))
        .into_iter()
        .collect();
    let head = request(verb, &path, &fields, &call.body);
    let mock = mock();
    let answer = block_on(http1_exchange(mock.local_addr(), &head, false));
    let status = status_of(&answer).expect("the mock answers a well-formed admin call");
    assert!(
        status < 500,
        "HTTP {status} from the admin API: {}",
        String::from_utf8_lossy(&answer)
    );
    // The state is still readable after whatever the call changed.
    let _ = (
        mock.journal(),
        mock.users(),
        mock.live_codes(),
        mock.pending_faults(),
    );
}

/// Raw bytes on the mock's port: it answers (or closes) and never hangs. Bytes that reach the
/// admin API's faults are skipped: a fault may ask for a delay, which would read as a hang.
pub(crate) fn http1(data: &[u8]) {
    let lowered = String::from_utf8_lossy(data).to_ascii_lowercase();
    if lowered.contains("fault") || lowered.contains('%') {
        return;
    }
    let answer = block_on(http1_exchange(mock().local_addr(), data, true));
    // An answer is an HTTP/1.1 one, or HTTP/2 frames after a preface in the bytes, or nothing
    // (the mock closed on bytes that are neither): the property here is that it came.
    drop(answer);
}

/// An HTTP/1.1 request that asks the mock to close after answering, with its fields (those the
/// syntax can carry), a `content-length` and the body.
fn request(verb: &str, target: &str, fields: &[(String, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    request_on("fuzz", verb, target, fields, body)
}

/// [`request`] with `host` as its `host` field (the login page takes its origin from it).
fn request_on(
    host: &str,
    verb: &str,
    target: &str,
    fields: &[(String, Vec<u8>)],
    body: &[u8],
) -> Vec<u8> {
    let mut head =
        format!("{verb} {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n").into_bytes();
    for (name, value) in fields {
        push_field(&mut head, name, value);
    }
    push_field(
        &mut head,
        "content-length",
        body.len().to_string().as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(body);
    head
}

fn push_field(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    // A field the HTTP/1.1 syntax cannot carry would only test the parser's refusal, which the
    // raw target does: keep names and values on one line.
    if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':') {
        return;
    }
    if value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return;
    }
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

/// Everything but unreserved characters, in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What cannot stand in a request target's query.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'#')
    .add(b'%')
    .add(b'"')
    .add(b'<')
    .add(b'>');

fn percent_encode_segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn percent_encode_query(text: &str) -> String {
    utf8_percent_encode(text, QUERY).to_string()
}
