//! CONTRACT §3: the same server failure gives an equal `Error` over gRPC, gRPC-web and REST, for
//! every row of the status table and every error ZITADEL gives for this call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use zitadel_passkey::{Client, Code, Error, RetryPolicy, Transport};

/// (gRPC code, HTTP status) from the table.
const TABLE: &[(i32, u16)] = &[
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

/// (code, ErrorDetail id and message, status message) of the errors a real instance gives.
type ZitadelError = (i32, Option<(&'static str, &'static str)>, &'static str);

fn zitadel_errors() -> Vec<ZitadelError> {
    vec![
        (16, None, "auth header missing"),
        (
            16,
            Some(("AUTH-toLo1", "invalid auth header")),
            "invalid auth header (AUTH-toLo1)",
        ),
        (
            16,
            Some(("AUTH-7fs1e", "Errors.Token.Invalid")),
            "Errors.Token.Invalid (AUTH-7fs1e)",
        ),
        (
            7,
            Some(("AUTH-Bs7Ds", "Organisation doesn't exist")),
            "Organisation doesn't exist (AUTH-Bs7Ds)",
        ),
        (
            9,
            Some(("COMMAND-GVfg3", "Errors.IDMissing")),
            "Errors.IDMissing (COMMAND-GVfg3)",
        ),
    ]
}

fn build(url: &str, transport: Transport) -> Client {
    Client::builder(url)
        .transport(transport)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn over_grpc(code: i32, detail: Option<(&str, &str)>, message: &str) -> Error {
    let fake = H2Fake::always(error_steps(error_headers(code, detail, message))).await;
    build(&fake.url(), Transport::Grpc)
        .add_passkey_link()
        .await
        .unwrap_err()
}

async fn over_grpc_web(
    code: i32,
    detail: Option<(&str, &str)>,
    message: &str,
    in_frame: bool,
) -> Error {
    let server = MockServer::start().await;
    let mut template =
        ResponseTemplate::new(200).insert_header("content-type", "application/grpc-web+proto");
    if in_frame {
        template = template.set_body_bytes(trailer_frame(&error_headers(code, detail, message)));
    } else {
        for (name, value) in error_headers(code, detail, message) {
            template = template.insert_header(name, value.as_str());
        }
    }
    Mock::given(method("POST"))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    build(&server.uri(), Transport::GrpcWeb)
        .add_passkey_link()
        .await
        .unwrap_err()
}

async fn over_json(
    code: i32,
    http_status: u16,
    detail: Option<(&str, &str)>,
    message: &str,
) -> Error {
    let details: Vec<_> = detail
        .into_iter()
        .map(|(id, m)| json!({"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": id, "message": m}))
        .collect();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(http_status)
                .set_body_json(json!({"code": code, "message": message, "details": details})),
        )
        .expect(1)
        .mount(&server)
        .await;
    build(&server.uri(), Transport::Json)
        .add_passkey_link()
        .await
        .unwrap_err()
}

async fn check(code: i32, http_status: u16, detail: Option<(&str, &str)>, message: &str) {
    let grpc = over_grpc(code, detail, message).await;
    let web_headers = over_grpc_web(code, detail, message, false).await;
    let web_frame = over_grpc_web(code, detail, message, true).await;
    let rest = over_json(code, http_status, detail, message).await;
    let expected_message = detail.map_or(message, |(_, m)| m);
    for (error, transport) in [
        (&grpc, Transport::Grpc),
        (&web_headers, Transport::GrpcWeb),
        (&web_frame, Transport::GrpcWeb),
        (&rest, Transport::Json),
    ] {
        assert_eq!(error.code(), Code::from_i32(code), "{transport}: {error:?}");
        assert_eq!(error.message(), expected_message, "{transport}");
        assert_eq!(error.error_id(), detail.map(|(id, _)| id), "{transport}");
        assert_eq!(error.transport(), Some(transport));
        // gRPC defines DEADLINE_EXCEEDED as possibly sent after the work was done.
        assert_eq!(
            error.is_outcome_unknown(),
            code == 4,
            "{transport}: {error:?}"
        );
        assert!(!error.is_not_sent(), "{transport}");
    }
    assert_eq!(grpc, web_headers);
    assert_eq!(grpc, web_frame);
    assert_eq!(grpc, rest);
    assert_eq!(grpc.to_string(), rest.to_string());
    assert_eq!(rest.http_status(), Some(http_status));
    assert_eq!(Code::from_i32(code).http_status(), http_status);
}

#[tokio::test]
async fn every_row_of_the_status_table_is_equal_on_all_transports() {
    for &(code, http_status) in TABLE {
        let name = Code::from_i32(code).as_str();
        check(
            code,
            http_status,
            Some(("TEST-1d", "Errors.Test")),
            &format!("Errors.Test {name} (TEST-1d)"),
        )
        .await;
        check(code, http_status, None, &format!("plain {name}: ünïcödé")).await;
    }
}

#[tokio::test]
async fn every_zitadel_error_of_this_call_is_equal_on_all_transports() {
    for (code, detail, message) in zitadel_errors() {
        check(code, Code::from_i32(code).http_status(), detail, message).await;
    }
}

/// An empty token is sent as no `authorization` header at all, on every transport.
#[tokio::test]
async fn an_empty_or_padded_token_is_sent_the_same_everywhere() {
    let h2 = H2Fake::always(ok_steps(&link_response())).await;
    let server = MockServer::start().await;
    let mut web_body = message_frame(&link_response());
    web_body.extend(trailer_frame(&[("grpc-status", "0".into())]));
    Mock::given(wiremock::matchers::header(
        "content-type",
        "application/grpc-web+proto",
    ))
    .respond_with(
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/grpc-web+proto")
            .set_body_bytes(web_body),
    )
    .mount(&server)
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"link": LINK})))
        .mount(&server)
        .await;
    for token in ["", "  ", " abc\n"] {
        for (url, transport) in [
            (h2.url(), Transport::Grpc),
            (server.uri(), Transport::GrpcWeb),
            (server.uri(), Transport::Json),
        ] {
            Client::builder(url)
                .transport(transport)
                .token(token)
                .build()
                .unwrap()
                .add_passkey_link()
                .await
                .unwrap();
        }
    }
    let mut sent: Vec<Option<String>> = h2
        .requests()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    sent.extend(server.received_requests().await.unwrap().iter().map(|r| {
        r.headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    }));
    assert_eq!(sent.iter().filter(|s| s.is_none()).count(), 6, "{sent:?}");
    assert_eq!(
        sent.iter()
            .filter(|s| s.as_deref() == Some("Bearer abc"))
            .count(),
        3,
        "{sent:?}"
    );
}
