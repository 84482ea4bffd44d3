//! `tracing` spans per call and attempt, at every level down to TRACE (ours and the libraries'),
//! never contain the token or the one-time code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use zitadel_passkey::{Client, RetryPolicy, Transport};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_name_calls_and_attempts_but_no_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h2 = H2Fake::start(|index, _| {
        if index == 0 {
            ok_steps(&link_response())
        } else {
            error_steps(error_headers(
                16,
                Some(("AUTH-7fs1e", "Errors.Token.Invalid")),
                "Errors.Token.Invalid (AUTH-7fs1e)",
            ))
        }
    })
    .await;
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
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"link": LINK, "expiration": "3600s"})),
        )
        .mount(&server)
        .await;

    for (url, transport) in [
        (h2.url(), Transport::Grpc),
        (server.uri(), Transport::GrpcWeb),
        (server.uri(), Transport::Json),
    ] {
        let client = Client::builder(url)
            .transport(transport)
            .token(TOKEN)
            .timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let link = client.add_passkey_link().await.unwrap();
        tracing::info!(%link, ?link, "got a link");
    }
    let error = Client::builder(h2.url())
        .token(TOKEN)
        .build()
        .unwrap()
        .add_passkey_link()
        .await
        .unwrap_err();
    tracing::info!(%error, ?error, "failed");
    let dead = dead_port().await;
    let error = Client::builder(format!("http://{dead}"))
        .token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
        .add_passkey_link()
        .await
        .unwrap_err();
    tracing::info!(%error, ?error, "failed");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("zitadel_passkey.call"), "{logs}");
    assert!(logs.contains("AddMyPasswordlessLink"));
    assert!(logs.contains("attempt"));
    assert!(logs.contains("UNAUTHENTICATED"));
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(
        !logs.contains(CODE),
        "the one-time code leaked into the logs"
    );
}
