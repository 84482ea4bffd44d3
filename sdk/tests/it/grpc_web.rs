//! gRPC-web over HTTP/1.1 against wiremock (and a raw TCP server for the slow drip): the wire
//! format (`application/grpc-web+proto` exactly), trailers-only and trailer-frame errors, and the
//! hostile answers the issue lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zitadel_passkey::{CallOptions, Client, Code, Transport};

const PATH: &str = "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink";

fn client(url: &str) -> Client {
    test_client(url, Transport::GrpcWeb)
}

fn web_ok(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/grpc-web+proto")
        .set_body_bytes(body)
}

fn ok_body() -> Vec<u8> {
    let mut body = message_frame(&link_response());
    body.extend(trailer_frame(&[("grpc-status", "0".into())]));
    body
}

async fn add_error(template: ResponseTemplate) -> zitadel_passkey::Error {
    let server = answering_once(PATH, template).await;
    client(&server.uri()).add_passkey_link().await.unwrap_err()
}

#[tokio::test]
async fn add_link_sends_grpc_web_proto_over_http1() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("content-type", "application/grpc-web+proto"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-zitadel-orgid", "42"))
        .and(header("accept-language", "fr"))
        .respond_with(web_ok(ok_body()))
        .expect(2)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .transport(Transport::GrpcWeb)
        .token(TOKEN)
        .org_id("42")
        .accept_language("fr")
        .build()
        .unwrap();
    let link = client.add_passkey_link().await.unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(link.expires_in(), Duration::from_secs(3600));
    client.add_passkey_link().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let request = &requests[0];
    assert_eq!(request.body, vec![0, 0, 0, 0, 0]);
    assert!(request.headers.get("grpc-timeout").is_some());
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("zitadel-passkey-rust/")
    );
}

#[tokio::test]
async fn trailers_only_errors_and_trailer_frame_errors_read_the_same() {
    let bytes = status_bytes(
        16,
        "Errors.Token.Invalid (AUTH-7fs1e)",
        "AUTH-7fs1e",
        "Errors.Token.Invalid",
    );
    let headers_only = ResponseTemplate::new(200)
        .insert_header("content-type", "application/grpc-web+proto")
        .insert_header("grpc-status", "16")
        .insert_header("grpc-message", "Errors.Token.Invalid%20(AUTH-7fs1e)")
        .insert_header("grpc-status-details-bin", b64(&bytes).as_str());
    let in_frame = web_ok(trailer_frame(&[
        ("grpc-status", "16".into()),
        ("grpc-message", "Errors.Token.Invalid%20(AUTH-7fs1e)".into()),
        ("grpc-status-details-bin", b64_unpadded(&bytes)),
    ]));
    let a = add_error(headers_only).await;
    let b = add_error(in_frame).await;
    for error in [&a, &b] {
        assert_eq!(error.code(), Code::Unauthenticated);
        assert_eq!(error.error_id(), Some("AUTH-7fs1e"));
        assert_eq!(error.message(), "Errors.Token.Invalid");
        assert_eq!(error.transport(), Some(Transport::GrpcWeb));
        assert!(!error.is_outcome_unknown());
    }
    assert_eq!(a, b);
}

#[tokio::test]
async fn invalid_base64_details_do_not_panic() {
    let in_headers = ResponseTemplate::new(200)
        .insert_header("content-type", "application/grpc-web+proto")
        .insert_header("grpc-status", "7")
        .insert_header("grpc-message", "denied")
        .insert_header("grpc-status-details-bin", "!!!!");
    let in_frame = web_ok(trailer_frame(&[
        ("grpc-status", "7".into()),
        ("grpc-message", "denied".into()),
        ("grpc-status-details-bin", "@@not-base64@@".into()),
    ]));
    for template in [in_headers, in_frame] {
        let error = add_error(template).await;
        assert_eq!(error.code(), Code::PermissionDenied);
        assert_eq!(error.message(), "denied");
        assert_eq!(error.error_id(), None);
    }
}

#[tokio::test]
async fn hostile_bodies_become_typed_errors_without_retry() {
    let message = message_frame(&link_response());
    let status = trailer_frame(&[("grpc-status", "0".into())]);
    let join = |parts: &[&[u8]]| parts.concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated message", message[..12].to_vec()),
        ("truncated header", vec![0, 0, 0]),
        ("truncated trailers", status[..status.len() - 3].to_vec()),
        ("two messages", join(&[&message, &message, &status])),
        ("no status", message.clone()),
        (
            "trailers without status",
            join(&[&message, &trailer_frame(&[("x", "y".into())])]),
        ),
        (
            "non-numeric status",
            join(&[&message, &trailer_frame(&[("grpc-status", "ok".into())])]),
        ),
        ("two trailer frames", join(&[&message, &status, &status])),
        (
            "two statuses",
            join(&[
                &message,
                &trailer_frame(&[("grpc-status", "0".into()), ("grpc-status", "7".into())]),
            ]),
        ),
        ("message after trailers", join(&[&status, &message])),
        ("garbage", b"<html>oops</html>".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, body) in cases {
        let error = add_error(web_ok(body)).await;
        assert!(error.is_outcome_unknown(), "{what}: {error:?}");
        assert!(!error.is_not_sent(), "{what}");
        assert_eq!(error.transport(), Some(Transport::GrpcWeb), "{what}");
    }
}

#[tokio::test]
async fn a_4_gib_length_prefix_and_oversized_bodies_fail_early() {
    let error = add_error(web_ok(vec![0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])).await;
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    let mut big = frame(0, &vec![0u8; 5 * 1024 * 1024]);
    big.extend(trailer_frame(&[("grpc-status", "0".into())]));
    let error = add_error(web_ok(big)).await;
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
}

#[tokio::test]
async fn a_wrong_content_type_or_proxy_status_is_not_trusted() {
    let error = add_error(
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string("<html>"),
    )
    .await;
    assert!(error.is_outcome_unknown());
    for status in [502u16, 503, 504] {
        let error = add_error(ResponseTemplate::new(status).set_body_string("Bad gateway")).await;
        assert!(error.is_outcome_unknown(), "{status}");
        assert_eq!(error.http_status(), Some(status));
    }
    let error =
        add_error(ResponseTemplate::new(302).insert_header("location", "https://evil.example/"))
            .await;
    assert!(!error.is_not_sent());
    assert_eq!(error.http_status(), Some(302));
}

#[tokio::test]
async fn out_of_range_values_are_errors() {
    let mut response = link_response();
    response.expiration = Some(zitadel_passkey::wkt::Duration {
        seconds: 1,
        nanos: -1,
    });
    let mut body = message_frame(&response);
    body.extend(trailer_frame(&[("grpc-status", "0".into())]));
    let error = add_error(web_ok(body)).await;
    assert!(error.is_outcome_unknown(), "{error:?}");
}

// Real time on purpose: wiremock and the raw drip server answer over real sockets, and a paused
// tokio clock jumps to the next timer whenever no socket is ready, which could fire the deadline
// early.
#[tokio::test]
async fn the_deadline_ends_the_call_when_the_server_hangs_or_drips() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(web_ok(ok_body()).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\ntransfer-encoding: chunked\r\n\r\n".to_owned();
    // Chunked: each byte its own chunk, forever.
    let (drip, _) = http1_server(
        head,
        b"1\r\n\0\r\n".to_vec(),
        Some(Duration::from_millis(5)),
    )
    .await;
    for url in [server.uri(), format!("http://{drip}")] {
        let started = Instant::now();
        let error = client(&url)
            .add_passkey_link_with(CallOptions::new().timeout(Duration::from_millis(300)))
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(error.is_timeout(), "{url}: {error:?}");
        assert!(error.is_outcome_unknown());
        // The server holds its answer far longer: ending within a few seconds shows the 300 ms
        // deadline ended the call. How late a timer fires on a loaded machine is not behaviour
        // (the client's paused-clock test pins the deadline exactly).
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }
}

#[tokio::test]
async fn http1_keep_alive_connections_are_reused() {
    let (addr, connections, versions) =
        http1_keepalive_server("application/grpc-web+proto", ok_body()).await;
    let client = client(&format!("http://{addr}"));
    for _ in 0..3 {
        client.clone().add_passkey_link().await.unwrap();
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        versions
            .lock()
            .unwrap()
            .iter()
            .all(|v| *v == http::Version::HTTP_11)
    );
}

#[tokio::test]
async fn a_proxy_5xx_carrying_a_grpc_status_is_outcome_unknown_not_a_rejection() {
    // gRPC-web always answers HTTP 200 (docs/wire-contract.md §3); `expect(1)` checks nothing was resent.
    for status in [502u16, 503] {
        let error = add_error(
            ResponseTemplate::new(status)
                .insert_header("content-type", "application/grpc-web+proto")
                .insert_header("grpc-status", "16")
                .insert_header("grpc-message", "upstream%20auth%20failed"),
        )
        .await;
        assert!(error.is_outcome_unknown(), "{status}: {error:?}");
        assert_ne!(error.code(), Code::Unauthenticated, "{status}");
        assert_eq!(error.http_status(), Some(status));
    }
}
