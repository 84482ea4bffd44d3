//! Hostile and broken peers: oversized bodies, malformed frames, bad JSON, wrong content types,
//! garbage on the socket, CORS. Nothing may panic or hang, and the mock keeps serving.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use http::{Method, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::{Code, MockServer};

/// The mock still answers a normal call, and nothing panicked.
async fn still_healthy(mock: &MockServer) {
    let _: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer t")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(panics(), 0, "something panicked");
}

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("no hang")
}

fn raw_grpc_frame(flag: u8, declared: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&declared.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

async fn grpc_raw(
    mock: &MockServer,
    version: Version,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Reply, hyper::Error> {
    within(send(
        mock.local_addr(),
        version,
        Method::POST,
        ADD_PATH,
        &[
            ("content-type", content_type),
            ("te", "trailers"),
            ("authorization", "Bearer t"),
        ],
        body,
    ))
    .await
}

fn status_of(reply: &Reply) -> i32 {
    if reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/grpc-web"))
    {
        grpc_status(&parse_grpc_web(reply).trailers).code
    } else {
        grpc_status(
            reply
                .trailers
                .as_ref()
                .filter(|t| t.contains_key("grpc-status"))
                .unwrap_or(&reply.headers),
        )
        .code
    }
}

#[tokio::test]
async fn oversized_requests_are_resource_exhausted() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let big = RemoveMyPasswordlessRequest {
        token_id: "x".repeat(70 * 1024),
    };
    for via in ALL_VIAS {
        let error = within(call::<_, RemoveMyPasswordlessResponse>(
            &mock.uri(),
            via,
            REMOVE,
            big.clone(),
            &[("authorization", "Bearer t")],
            "1",
        ))
        .await;
        // REST's DELETE has no body: send the big body to _link instead below.
        if matches!(via, Via::JsonH1 | Via::JsonH2) {
            continue;
        }
        assert_eq!(error.unwrap_err().code, 8, "{via:?}");
    }
    for version in [Version::HTTP_11, Version::HTTP_2] {
        let body = format!("{{\"padding\":\"{}\"}}", "x".repeat(70 * 1024));
        let reply = within(send(
            mock.local_addr(),
            version,
            Method::POST,
            REST_ADD,
            &[("authorization", "Bearer t")],
            body,
        ))
        .await
        .unwrap();
        assert_eq!(reply.status, 413);
        assert_eq!(reply.json()["code"], 8);
    }
    // A frame that declares 1 GiB but sends 5 bytes is refused at once.
    for (version, ct) in [
        (Version::HTTP_2, "application/grpc"),
        (Version::HTTP_11, "application/grpc-web+proto"),
        (Version::HTTP_2, "application/grpc-web+proto"),
    ] {
        let reply = grpc_raw(&mock, version, ct, raw_grpc_frame(0, 1 << 30, b"12345"))
            .await
            .unwrap();
        assert_eq!(status_of(&reply), 8, "{ct} {version:?}");
    }
    assert!(mock.live_codes().is_empty());
    still_healthy(&mock).await;
}

#[tokio::test]
async fn malformed_grpc_frames_get_grpc_errors() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated frame", raw_grpc_frame(0, 10, b"abc")),
        ("truncated header", vec![0, 0, 0]),
        (
            "invalid protobuf",
            raw_grpc_frame(0, 3, &[0xff, 0xff, 0xff]),
        ),
        ("compressed without encoding", raw_grpc_frame(1, 0, b"")),
        (
            "two messages for a unary call",
            [raw_grpc_frame(0, 0, b""), raw_grpc_frame(0, 0, b"")].concat(),
        ),
        ("unknown flag", raw_grpc_frame(0x42, 0, b"")),
    ];
    for (name, body) in cases {
        for (version, ct) in [
            (Version::HTTP_2, "application/grpc"),
            (Version::HTTP_11, "application/grpc-web+proto"),
            (Version::HTTP_2, "application/grpc-web"),
        ] {
            let reply = grpc_raw(&mock, version, ct, body.clone()).await.unwrap();
            let code = status_of(&reply);
            assert_ne!(code, 0, "{name} over {ct} {version:?} must fail");
        }
    }
    // The empty body is not a valid unary request either.
    let reply = grpc_raw(&mock, Version::HTTP_2, "application/grpc", Vec::new())
        .await
        .unwrap();
    assert_ne!(status_of(&reply), 0);
    // gRPC-web-text that is not base64.
    let reply = grpc_raw(
        &mock,
        Version::HTTP_11,
        "application/grpc-web-text",
        b"!!!not base64!!!".to_vec(),
    )
    .await
    .unwrap();
    assert!(reply.status != 200 || status_of(&reply) != 0, "{reply:?}");
    still_healthy(&mock).await;
}

#[tokio::test]
async fn bad_json_and_odd_content_types() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    for body in [
        "{",
        "[1,2]",
        "null",
        "\"x\"",
        "{\"a\":",
        "\u{0}\u{1}",
        "{}{}",
    ] {
        for version in [Version::HTTP_11, Version::HTTP_2] {
            let reply = within(send(
                addr,
                version,
                Method::POST,
                REST_ADD,
                &[
                    ("authorization", "Bearer t"),
                    ("content-type", "application/json"),
                ],
                body,
            ))
            .await
            .unwrap();
            assert_eq!(reply.status, 400, "{body:?}");
            assert_eq!(reply.json()["code"], 3, "{body:?}");
        }
    }
    // Not JSON at all under another content type: still a 400 from the gateway.
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::POST,
        REST_ADD,
        &[
            ("authorization", "Bearer t"),
            ("content-type", "application/xml"),
        ],
        "<a/>",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 400);
    // grpc content types we do not speak: an error, never a success or a panic.
    for ct in ["application/grpc+json", "application/grpc-web+json"] {
        for version in [Version::HTTP_11, Version::HTTP_2] {
            if let Ok(reply) = grpc_raw(&mock, version, ct, raw_grpc_frame(0, 2, b"{}")).await {
                let ok = reply.status == 200
                    && reply
                        .headers
                        .get("grpc-status")
                        .or(reply.trailers.as_ref().and_then(|t| t.get("grpc-status")))
                        .is_some_and(|s| s == "0");
                assert!(!ok, "{ct} {version:?}: {reply:?}");
            }
        }
    }
    // gRPC-web must be POST.
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::GET,
        ADD_PATH,
        &[("content-type", "application/grpc-web+proto")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 405);
    assert!(mock.live_codes().is_empty());
    still_healthy(&mock).await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::POST,
        "/auth/v1/nothing",
        &[],
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], 5);
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::GET,
        REST_ADD,
        &[("authorization", "Bearer t")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()["code"], 12);
    let reply = within(send(
        addr,
        Version::HTTP_2,
        Method::POST,
        "/zitadel.auth.v1.AuthService/Nope",
        &[("content-type", "application/grpc"), ("te", "trailers")],
        raw_grpc_frame(0, 0, b""),
    ))
    .await
    .unwrap();
    assert_eq!(status_of(&reply), 12);
    assert!(
        mock.journal().is_empty(),
        "only RPCs we serve are journaled"
    );
    still_healthy(&mock).await;
}

#[tokio::test]
async fn garbage_on_the_socket() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let inputs: [&[u8]; 6] = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on a plain port
        b"GARBAGE GARBAGE\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00", // preface, then a broken frame
        b"POST /auth/v1/users/me/passwordless/_link HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999\r\n\r\n",
        b"POST /auth/v1/users/me/passwordless/_link HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\n",
    ];
    for input in inputs {
        let mut stream = tokio::net::TcpStream::connect(mock.local_addr())
            .await
            .unwrap();
        stream.write_all(input).await.unwrap();
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        // Either an error answer or a closed connection; never a hang.
        let _ = within(stream.read_to_end(&mut answer)).await;
    }
    still_healthy(&mock).await;
}

#[tokio::test]
async fn cors_preflight_and_answers() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    // Sorted and lowercase, as browsers send them. The REST gateway's list is longer than the
    // gRPC-web wrapper's, which a preflight naming `x-grpc-web` reaches (see `framing.rs`).
    let rest = "accept-language,authorization,connect-protocol-version,connect-timeout-ms,content-type,grpc-timeout,x-user-agent,x-zitadel-orgid";
    let grpc_web =
        "accept-language,authorization,content-type,x-grpc-web,x-user-agent,x-zitadel-orgid";
    for (path, requested, max_age) in [(REST_ADD, rest, None), (ADD_PATH, grpc_web, Some("600"))] {
        for version in [Version::HTTP_11, Version::HTTP_2] {
            let reply = send(
                addr,
                version,
                Method::OPTIONS,
                path,
                &[
                    ("origin", "https://app.example.com"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", requested),
                ],
                "",
            )
            .await
            .unwrap();
            assert_eq!(reply.status, 204, "{path}: {reply:?}");
            assert_eq!(
                reply.header("access-control-allow-origin"),
                Some("https://app.example.com")
            );
            assert_eq!(
                reply.header("access-control-allow-credentials"),
                Some("true")
            );
            assert_eq!(reply.header("access-control-max-age"), max_age, "{path}");
            assert_eq!(
                reply.header("access-control-allow-headers"),
                Some(requested)
            );
            assert_eq!(reply.header("access-control-allow-methods"), Some("POST"));
        }
    }
    // Actual answers carry the CORS headers, for gRPC-web and REST, success or error. The
    // gRPC-web wrapper exposes whatever headers its answer has: for an error, the status.
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::POST,
        ADD_PATH,
        &[
            ("origin", "http://localhost:3000"),
            ("content-type", "application/grpc-web+proto"),
            ("authorization", "Basic t"),
        ],
        message_frame(&AddMyPasswordlessLinkRequest {}),
    )
    .await
    .unwrap();
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    let exposed = reply.header("access-control-expose-headers").unwrap();
    for header in ["Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"] {
        assert!(exposed.contains(header), "{exposed}");
    }
    let reply = send(
        addr,
        Version::HTTP_2,
        Method::POST,
        REST_ADD,
        &[("origin", "http://localhost:3000")],
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    still_healthy(&mock).await;
}

#[tokio::test]
async fn http2_limits_are_advertised() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let stream = tokio::net::TcpStream::connect(mock.local_addr())
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    // Send one request so the server's SETTINGS have surely been applied.
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{REST_ADD}", mock.local_addr()))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = within(response).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(client.current_max_send_streams(), 256);
    still_healthy(&mock).await;
}

#[tokio::test]
async fn http2_rapid_reset_flood_is_cut_off() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let stream = tokio::net::TcpStream::connect(mock.local_addr())
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(stream).await.unwrap();
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    // Open streams and reset them at once, as in CVE-2023-44487, far past the limit.
    let mut sent = 0;
    for _ in 0..2000 {
        sent += 1;
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{REST_ADD}", mock.local_addr()))
            .body(())
            .unwrap();
        let Ok((_response, mut body)) = client.send_request(request, false) else {
            break;
        };
        body.send_reset(h2::Reason::CANCEL);
        match within(client.clone().ready()).await {
            Ok(ready) => client = ready,
            Err(_) => break,
        }
    }
    // The server ends the connection (GOAWAY, then close) instead of working through the flood.
    // (Which of h2's limits trips first is h2's business; the mock sets them explicitly.)
    let result = within(connection).await.unwrap();
    let error = result.expect_err("the server must cut the connection");
    let reason = error.reason();
    eprintln!("flood of {sent} resets ended with {error:?}");
    assert!(
        reason == Some(h2::Reason::ENHANCE_YOUR_CALM) || error.is_go_away() || error.is_io(),
        "{error:?}"
    );
    still_healthy(&mock).await;
}

#[tokio::test]
async fn a_code_ttl_beyond_a_proto_duration_is_refused_at_start() {
    count_panics();
    let error = MockServer::builder()
        .code_ttl(Duration::from_secs(u64::MAX))
        .start()
        .await
        .expect_err("a TTL no Duration can carry");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("code TTL"), "{error}");

    // The longest a google.protobuf.Duration can say still works.
    let mock = MockServer::builder()
        .code_ttl(Duration::from_secs(315_576_000_000))
        .start()
        .await
        .unwrap();
    let response: AddMyPasswordlessLinkResponse = within(call(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer t")],
        "",
    ))
    .await
    .unwrap();
    assert_eq!(response.expiration.unwrap().to_string(), "315576000000s");
    still_healthy(&mock).await;
}

#[tokio::test]
async fn grpc_over_http1_runs_no_handler() {
    // docs/wire-contract.md §4: only `application/grpc*` over HTTP/2 is gRPC; anything else goes to the REST
    // gateway, which has no such route. AddMyPasswordlessLink must not create a code the client
    // could never learn about (HTTP/1.1 without `te: trailers` cannot carry grpc-status).
    count_panics();
    let mock = MockServer::start().await.unwrap();
    for content_type in ["application/grpc", "application/grpc+proto"] {
        let reply = within(send(
            mock.local_addr(),
            Version::HTTP_11,
            Method::POST,
            ADD_PATH,
            &[
                ("content-type", content_type),
                ("authorization", "Bearer t"),
            ],
            message_frame(&AddMyPasswordlessLinkRequest {}),
        ))
        .await
        .unwrap();
        assert_eq!(reply.status, 404, "{content_type}: {reply:?}");
        assert_eq!(reply.json()["code"], 5, "{content_type}");
    }
    assert!(mock.live_codes().is_empty(), "no code was created");
    assert!(mock.journal().is_empty(), "no RPC ran");
    still_healthy(&mock).await;
}

#[tokio::test]
async fn the_journal_keeps_only_the_start_of_a_huge_org_header() {
    // 10 000 journal entries of 60 KiB headers each would be 600 MB: the journal keeps a prefix.
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let huge = "9".repeat(60 * 1024);
    let reply = within(send(
        mock.local_addr(),
        Version::HTTP_2,
        Method::POST,
        REST_ADD,
        &[("authorization", "Bearer t"), ("x-zitadel-orgid", &huge)],
        "{}",
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 403, "an unknown org");
    let journal = mock.journal();
    let org_id = journal[0].org_id.as_deref().unwrap();
    assert!(org_id.len() <= 260, "{} bytes journaled", org_id.len());
    assert!(org_id.starts_with("9999"), "{org_id}");
    still_healthy(&mock).await;
}

#[tokio::test]
async fn a_passkey_id_that_is_not_utf8_is_still_a_journaled_call() {
    count_panics();
    let mock = MockServer::start().await.unwrap();
    let reply = within(send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::DELETE,
        "/auth/v1/users/me/passwordless/%FF%FE",
        &[("authorization", "Bearer t")],
        "",
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 404, "no such passkey: {reply:?}");
    assert_eq!(reply.json()["code"], 5);
    let journal = mock.journal();
    assert_eq!(journal.len(), 1, "journaled like any call");
    assert_eq!(journal[0].method, "RemoveMyPasswordless");
    assert_eq!(journal[0].code, Some(Code::NotFound));
    still_healthy(&mock).await;
}

/// Whether the peer still holds `stream` open: whatever it sent is read and dropped; end of
/// stream or an error means closed.
fn still_open(stream: &tokio::net::TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.try_read(&mut buffer) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(error) => return error.kind() == std::io::ErrorKind::WouldBlock,
        }
    }
}

/// An HTTP/1 client has 30 s to send a request's head, from connecting or from the end of its
/// previous call, and is then disconnected: a client dribbling a head (slowloris) or idling
/// cannot hold a connection. An HTTP/2 connection has no such deadline. In paused time, so the
/// mock's watchdog ticks without the test waiting (the sockets are ready before the clock jumps).
#[tokio::test(start_paused = true)]
async fn http1_heads_are_due_within_30_s() {
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    let mut dribbling = tokio::net::TcpStream::connect(addr).await.unwrap();
    dribbling
        .write_all(b"POST /auth/v1/users/me/passwordless/_link HTTP/1.1\r\nhost: mock\r\n")
        .await
        .unwrap();
    let mut answered = tokio::net::TcpStream::connect(addr).await.unwrap();
    answered
        .write_all(
            b"POST /auth/v1/users/me/passwordless/_link HTTP/1.1\r\nhost: mock\r\n\
              authorization: Bearer t\r\ncontent-type: application/json\r\n\
              content-length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"}") {
        let mut buffer = [0u8; 4096];
        let n = answered.read(&mut buffer).await.unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
    let mut http2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The preface and an empty SETTINGS frame: an idle HTTP/2 connection.
    http2
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_secs(25)).await;
    assert!(still_open(&dribbling), "a head still within its 30 s");
    assert!(still_open(&answered), "idle for less than 30 s");
    assert!(still_open(&http2));

    tokio::time::sleep(Duration::from_secs(15)).await;
    assert!(!still_open(&dribbling), "a head 40 s late");
    assert!(!still_open(&answered), "idle for 40 s");
    assert!(still_open(&http2), "HTTP/2 has no head deadline");
    assert_eq!(mock.journal().len(), 1);
    assert_eq!(panics(), 0);
}
