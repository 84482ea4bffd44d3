//! gRPC over HTTP/2 (h2c) against a scripted h2 server: the happy path, the wire format, and
//! every hostile answer the issue lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use zitadel_passkey::{Client, Code, RetryPolicy, Transport};

fn client(url: &str) -> Client {
    Client::builder(url)
        .transport(Transport::Grpc)
        .token(TOKEN)
        .org_id("165947650742997249")
        .accept_language("de")
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn add_link_over_h2c_sends_the_contract_headers() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    let link = client(&fake.url()).add_passkey_link().await.unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(link.user_id(), "182156264229306625");
    assert_eq!(link.org_id(), "165947650742997249");
    assert_eq!(link.code_id(), "200949504189388947");
    assert_eq!(link.expires_in(), Duration::from_secs(3600));
    assert_eq!(link.details().sequence, 2);
    let seen = &fake.requests()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink");
    let header = |name: &str| seen.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("application/grpc"));
    assert_eq!(header("te").as_deref(), Some("trailers"));
    assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
    assert_eq!(header("x-zitadel-orgid").as_deref(), Some("165947650742997249"));
    assert_eq!(header("accept-language").as_deref(), Some("de"));
    assert!(header("user-agent").unwrap().starts_with("zitadel-passkey-rust/"));
    let timeout = header("grpc-timeout").unwrap();
    assert!(timeout.ends_with('m') || timeout.ends_with('u'), "{timeout}");
    // An empty request message: a 5-byte frame of length 0.
    assert_eq!(&seen.body[..], &[0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn one_connection_is_shared_by_calls_and_clones() {
    let fake = H2Fake::always(ok_steps(&link_response())).await;
    let client = client(&fake.url());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.add_passkey_link().await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    client.add_passkey_link().await.unwrap();
    assert_eq!(fake.requests().len(), 5);
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
}
