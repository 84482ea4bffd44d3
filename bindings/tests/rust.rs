//! The bindings called from Rust: what a foreign caller can pass must never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use zitadel_passkey_ffi::{CallOptions, ClientConfig, PasskeyClient, PasskeyError, Transport};

/// A loopback port nothing listens on.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_durations_a_foreign_caller_can_pass_do_not_panic() {
    // Kotlin's `Duration.ofSeconds(Long.MAX_VALUE)` or Swift's huge intervals reach us as
    // durations far past what the clock can represent.
    for transport in [Transport::Grpc, Transport::GrpcWeb, Transport::Json] {
        let config = ClientConfig {
            endpoint: dead_endpoint(),
            transport,
            org_id: None,
            timeout: Some(Duration::MAX),
            connect_timeout: Some(Duration::MAX),
            accept_language: None,
            allow_insecure_http: false,
        };
        let client = PasskeyClient::with_token(config, "ffi-token-Zq8w2LmT".into()).unwrap();
        let options = CallOptions {
            timeout: Some(Duration::MAX),
            ..CallOptions::default()
        };
        let error = client.add_passkey_link(Some(options)).await.unwrap_err();
        assert!(
            matches!(error, PasskeyError::Unavailable { grpc_code: 14, .. }),
            "{transport:?}: {error}"
        );
    }
}
