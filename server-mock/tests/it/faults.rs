//! Scripted faults: errors, delays, dropped connections (before and after the handler), proxy
//! answers; their filters and counts; the admin API's form of them.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::{Code, Fault, MockServer, Transport};

/// What a client saw, at the HTTP level.
#[derive(Debug, PartialEq)]
enum Seen {
    /// An answer with this gRPC code (0 = OK) or, for REST, HTTP status.
    Answer(i32),
    /// An HTTP status without any gRPC status (a proxy).
    Http(u16),
    /// The connection went away without an answer.
    Dropped,
}

async fn attempt(mock: &MockServer, via: Via) -> Seen {
    let addr = mock.local_addr();
    let auth = ("authorization", "Bearer t");
    match via {
        Via::Grpc => {
            let mut client = tonic_client(&mock.uri()).await;
            match client
                .add_my_passwordless_link(request(AddMyPasswordlessLinkRequest {}, &[auth]))
                .await
            {
                Ok(_) => Seen::Answer(0),
                Err(status) => {
                    let from_http = status.metadata().get("grpc-status").is_none();
                    // tonic turns an HTTP 503 without grpc-status into UNAVAILABLE, and a reset
                    // or closed connection into UNKNOWN/UNAVAILABLE with a transport source.
                    let message = status.message().to_owned();
                    if message.contains("503") || message.contains("Service Unavailable") {
                        Seen::Http(503)
                    } else if from_http
                        && (status.code() == tonic::Code::Unknown
                            || status.code() == tonic::Code::Unavailable
                            || status.code() == tonic::Code::Internal
                            || status.code() == tonic::Code::Cancelled)
                        && !message.contains('(')
                    {
                        Seen::Dropped
                    } else {
                        Seen::Answer(status.code() as i32)
                    }
                }
            }
        }
        Via::GrpcWebH1 | Via::GrpcWebH2 | Via::GrpcWebText => {
            let version = if via == Via::GrpcWebH2 {
                Version::HTTP_2
            } else {
                Version::HTTP_11
            };
            let reply = send(
                addr,
                version,
                Method::POST,
                ADD_PATH,
                &[("content-type", "application/grpc-web+proto"), auth],
                message_frame(&AddMyPasswordlessLinkRequest {}),
            )
            .await;
            match reply {
                Err(_) => Seen::Dropped,
                Ok(reply) if reply.status != 200 => Seen::Http(reply.status.as_u16()),
                Ok(reply) => Seen::Answer(grpc_status(&parse_grpc_web(&reply).trailers).code),
            }
        }
        Via::JsonH1 | Via::JsonH2 => {
            let version = if via == Via::JsonH2 {
                Version::HTTP_2
            } else {
                Version::HTTP_11
            };
            match send(addr, version, Method::POST, REST_ADD, &[auth], "{}").await {
                Err(_) => Seen::Dropped,
                Ok(reply) if reply.header("content-type") == Some("application/json") => {
                    Seen::Answer(if reply.status == 200 {
                        0
                    } else {
                        reply.json()["code"].as_i64().unwrap() as i32
                    })
                }
                Ok(reply) => Seen::Http(reply.status.as_u16()),
            }
        }
    }
}

#[tokio::test]
async fn drop_before_handler_changes_nothing() {
    let mock = MockServer::start().await.unwrap();
    for via in ALL_VIAS {
        mock.push_fault(Fault::drop_before_handler());
        assert_eq!(attempt(&mock, via).await, Seen::Dropped, "{via:?}");
        assert!(mock.live_codes().is_empty(), "{via:?}");
        let entry = mock.journal().pop().unwrap();
        assert_eq!(entry.fault, Some("drop_before_handler"));
        assert_eq!(entry.code, None);
        // The next call is served normally.
        assert_eq!(attempt(&mock, via).await, Seen::Answer(0), "{via:?}");
        mock.reset();
    }
}

#[tokio::test]
async fn drop_after_handler_leaves_a_code_behind() {
    let mock = MockServer::start().await.unwrap();
    for (i, via) in ALL_VIAS.into_iter().enumerate() {
        mock.push_fault(Fault::drop_after_handler());
        assert_eq!(attempt(&mock, via).await, Seen::Dropped, "{via:?}");
        assert_eq!(mock.live_codes().len(), i + 1, "{via:?}: the handler ran");
        let entry = mock.journal().pop().unwrap();
        assert_eq!(entry.fault, Some("drop_after_handler"));
        assert_eq!(entry.code, Some(Code::Ok));
    }
}

#[tokio::test]
async fn proxy_status_has_no_grpc_status() {
    let mock = MockServer::start().await.unwrap();
    for via in ALL_VIAS {
        mock.push_fault(Fault::proxy_status(503));
        assert_eq!(attempt(&mock, via).await, Seen::Http(503), "{via:?}");
    }
    assert!(mock.live_codes().is_empty());
    let reply = {
        mock.push_fault(Fault::proxy_status(502));
        send(
            mock.local_addr(),
            Version::HTTP_11,
            Method::POST,
            REST_ADD,
            &[("authorization", "Bearer t")],
            "{}",
        )
        .await
        .unwrap()
    };
    assert_eq!(reply.status, 502);
    assert!(reply.header("grpc-status").is_none());
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

// Real time on purpose: the raw clients reach the mock over real sockets, and a paused tokio
// clock jumps to the next timer whenever no socket is ready, which could fire the mock's delay or
// its grpc-timeout before the request arrived. Only a lower bound is checked, so load cannot
// make it flaky.
#[tokio::test]
async fn delay_then_normal_answer() {
    let mock = MockServer::start().await.unwrap();
    mock.push_fault(Fault::delay(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Answer(0));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.journal()[0].fault, Some("delay"));

    // A deadline shorter than the delay: the server gives up (DEADLINE_EXCEEDED, as a gRPC server
    // honours `grpc-timeout`), before the handler ran.
    mock.push_fault(Fault::delay(Duration::from_millis(400)));
    // (Hand-made gRPC over HTTP/2: tonic's client would race the server with its own timer.)
    let reply = send(
        mock.local_addr(),
        Version::HTTP_2,
        Method::POST,
        ADD_PATH,
        &[
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", "Bearer t"),
            ("grpc-timeout", "100m"),
        ],
        message_frame(&AddMyPasswordlessLinkRequest {}),
    )
    .await
    .unwrap();
    let status = grpc_status(reply.trailers.as_ref().unwrap_or(&reply.headers));
    assert_eq!(status.code, 4, "{reply:?}");
    assert!(
        mock.live_codes().len() == 1,
        "only the first call made a code"
    );
    let entry = mock.journal().pop().unwrap();
    assert_eq!(entry.code, Some(Code::DeadlineExceeded));

    // The same over gRPC-web.
    mock.push_fault(Fault::delay(Duration::from_millis(400)));
    let reply = send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::POST,
        ADD_PATH,
        &[
            ("content-type", "application/grpc-web+proto"),
            ("authorization", "Bearer t"),
            ("grpc-timeout", "100m"),
        ],
        message_frame(&AddMyPasswordlessLinkRequest {}),
    )
    .await
    .unwrap();
    assert_eq!(grpc_status(&parse_grpc_web(&reply).trailers).code, 4);
    assert!(
        reply.header("access-control-expose-headers").is_some() || reply.header("vary").is_some()
    );
}

#[tokio::test]
async fn times_method_and_transport_filters() {
    let mock = MockServer::start().await.unwrap();
    mock.push_fault(
        Fault::error(Code::Unavailable, "", "down")
            .times(2)
            .method("AddMyPasswordlessLink")
            .transport(Transport::Json),
    );
    // Other transports and other methods are untouched.
    assert_eq!(attempt(&mock, Via::Grpc).await, Seen::Answer(0));
    let list: ListMyPasswordlessResponse = call(
        &mock.uri(),
        Via::JsonH1,
        LIST,
        ListMyPasswordlessRequest {},
        &[("authorization", "Bearer t")],
        "",
    )
    .await
    .unwrap();
    assert!(list.result.is_empty());
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Answer(14));
    assert_eq!(attempt(&mock, Via::JsonH2).await, Seen::Answer(14));
    assert_eq!(
        attempt(&mock, Via::JsonH1).await,
        Seen::Answer(0),
        "used up after 2"
    );
}

#[tokio::test]
async fn faults_through_the_admin_api() {
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    let post = |body: &'static str| async move {
        send(
            addr,
            Version::HTTP_11,
            Method::POST,
            "/__mock/faults",
            &[("content-type", "application/json")],
            body,
        )
        .await
        .unwrap()
    };
    assert_eq!(post(r#"{"kind":"error","code":7,"id":"AUTH-Bs7Ds","message":"Organisation doesn't exist","transport":"grpc-web"}"#).await.status, 201);
    assert_eq!(
        post(r#"{"kind":"proxy_status","times":2,"method":"AddMyPasswordlessLink"}"#)
            .await
            .status,
        201
    );
    assert_eq!(post(r#"{"kind":"nonsense"}"#).await.status, 400);
    assert_eq!(post(r#"{"kind":"error"}"#).await.status, 400);
    // An error fault's code is a gRPC error code: not OK, nothing past UNAUTHENTICATED.
    for code in [
        r#"{"kind":"error","code":0}"#,
        r#"{"kind":"error","code":17}"#,
    ] {
        let reply = post(code).await;
        assert_eq!(reply.status, 400, "{code}");
        assert!(reply.json()["error"].as_str().unwrap().contains("1 to 16"));
    }
    assert!(post(r#"not json"#).await.status.is_client_error());
    let pending = send(
        addr,
        Version::HTTP_11,
        Method::GET,
        "/__mock/faults",
        &[],
        "",
    )
    .await
    .unwrap()
    .json();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    assert_eq!(attempt(&mock, Via::GrpcWebH1).await, Seen::Answer(7));
    assert_eq!(attempt(&mock, Via::Grpc).await, Seen::Http(503));
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Http(503));
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Answer(0));
    assert_eq!(post(r#"{"kind":"delay","millis":10}"#).await.status, 201);
    assert_eq!(post(r#"{"kind":"drop_before_handler"}"#).await.status, 201);
    assert_eq!(post(r#"{"kind":"drop_after_handler"}"#).await.status, 201);
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Answer(0));
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Dropped);
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Dropped);
    // DELETE drops what is left.
    assert_eq!(
        post(r#"{"kind":"proxy_status","times":5}"#).await.status,
        201
    );
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::DELETE,
        "/__mock/faults",
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 204);
    assert!(mock.pending_faults().is_empty());
    assert_eq!(attempt(&mock, Via::JsonH1).await, Seen::Answer(0));
}

#[tokio::test]
async fn a_call_the_client_abandons_is_journaled_as_cancelled() {
    let mock = MockServer::start().await.unwrap();
    mock.push_fault(Fault::delay(Duration::from_secs(30)));
    let addr = mock.local_addr();
    let call = tokio::spawn(async move {
        send(
            addr,
            Version::HTTP_11,
            Method::POST,
            REST_ADD,
            &[("authorization", "Bearer t")],
            "{}",
        )
        .await
    });
    while !mock.pending_faults().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    call.abort();
    let _ = call.await;
    let mut journal = mock.journal();
    for _ in 0..500 {
        if !journal.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        journal = mock.journal();
    }
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].code, Some(Code::Cancelled));
    assert_eq!(journal[0].fault, Some("delay"));
    assert!(mock.live_codes().is_empty(), "the handler never ran");
}
