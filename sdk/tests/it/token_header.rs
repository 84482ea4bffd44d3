//! The token travels the same way on every transport: an empty or blank token as no
//! `authorization` header at all, a padded one trimmed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use zitadel_passkey::{Client, Transport};

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
