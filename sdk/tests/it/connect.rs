//! Connecting: the connect timeout bounds TCP and TLS together, TLS failures count as "never
//! sent" (so they may be retried), on every transport.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use zitadel_passkey::{Client, Code, ErrorKind, RetryPolicy, Transport};

/// Accepts TCP connections and then either stays silent or answers TLS with plain text.
async fn not_tls(silent: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if !silent {
                    let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    (format!("https://localhost:{port}"), count)
}

fn client(url: &str, transport: Transport, sleep: RecordingSleep) -> Client {
    Client::builder(url)
        .transport(transport)
        .token(TOKEN)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_millis(200))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_sleep(sleep),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_connect_timeout_covers_the_tls_handshake() {
    for transport in Transport::ALL {
        let (url, connections) = not_tls(true).await;
        let sleep = RecordingSleep::default();
        let started = Instant::now();
        let error = client(&url, transport, sleep.clone())
            .add_passkey_link()
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(error.is_not_sent(), "{transport}: {error:?}");
        assert_eq!(error.code(), Code::Unavailable, "{transport}");
        assert!(!error.to_string().contains(TOKEN));
        assert!(elapsed < Duration::from_secs(2), "{transport}: {elapsed:?}");
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "{transport}: retried once"
        );
        assert_eq!(sleep.waits.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_tls_error_sent_nothing_and_not_retried() {
    for transport in Transport::ALL {
        let (url, connections) = not_tls(false).await;
        let error = client(&url, transport, RecordingSleep::default())
            .add_passkey_link()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{transport}: {error:?}");
        assert!(error.is_not_sent(), "{transport}: {error:?}");
        assert!(!error.is_outcome_unknown(), "{transport}: {error:?}");
        // A handshake that failed once fails the same way again.
        assert_eq!(connections.load(Ordering::SeqCst), 1, "{transport}");
    }
}

#[tokio::test]
async fn a_dns_failure_is_a_not_sent_error() {
    for transport in Transport::ALL {
        let sleep = RecordingSleep::default();
        let error = client("https://no-such-host.invalid", transport, sleep.clone())
            .add_passkey_link()
            .await
            .unwrap_err();
        assert!(error.is_not_sent(), "{transport}: {error:?}");
        assert_eq!(sleep.waits.lock().unwrap().len(), 1, "{transport}: retried");
    }
}
