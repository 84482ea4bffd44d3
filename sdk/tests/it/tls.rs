//! TLS with rustls: a private root added with `add_root_certificate`, ALPN `h2` for gRPC and
//! HTTP/1.1 for gRPC-web and REST, one port serving all three (as ZITADEL does); an untrusted
//! certificate is refused before anything is sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::common::*;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use zitadel_passkey::{Client, ErrorKind, RetryPolicy, Transport};

type Seen = Arc<Mutex<Vec<(Option<Vec<u8>>, http::Version, String)>>>;

/// A TLS server on 127.0.0.1 for `localhost`, answering by content type.
async fn tls_server() -> (SocketAddr, Vec<u8>, Seen) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, record) = (acceptor.clone(), record.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(socket).await else {
                    return;
                };
                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                let service = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let content_type = request
                            .headers()
                            .get("content-type")
                            .map(|v| v.to_str().unwrap_or_default().to_owned())
                            .unwrap_or_default();
                        record.lock().unwrap().push((
                            alpn.clone(),
                            request.version(),
                            content_type.clone(),
                        ));
                        async move {
                            let _ = request.into_body().collect().await;
                            Ok::<_, Infallible>(answer(&content_type))
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    (addr, der, seen)
}

type Body = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

fn answer(content_type: &str) -> http::Response<Body> {
    let message = message_frame(&link_response());
    let (content_type, frames) = if content_type == "application/grpc" {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        (
            "application/grpc",
            vec![Frame::data(Bytes::from(message)), Frame::trailers(trailers)],
        )
    } else if content_type.starts_with("application/grpc-web") {
        let mut body = message;
        body.extend(trailer_frame(&[("grpc-status", "0".into())]));
        (
            "application/grpc-web+proto",
            vec![Frame::data(Bytes::from(body))],
        )
    } else {
        let json = serde_json::json!({"link": LINK, "expiration": "3600s"}).to_string();
        ("application/json", vec![Frame::data(Bytes::from(json))])
    };
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = frames.into_iter().map(Ok).collect();
    http::Response::builder()
        .header("content-type", content_type)
        .body(StreamBody::new(futures::stream::iter(frames)))
        .unwrap()
}

#[tokio::test]
async fn all_transports_work_over_tls_with_the_right_alpn() {
    let (addr, root, seen) = tls_server().await;
    let url = format!("https://localhost:{}", addr.port());
    for transport in Transport::ALL {
        let client = Client::builder(&url)
            .transport(transport)
            .token(TOKEN)
            .add_root_certificate(root.clone())
            .build()
            .unwrap();
        let link = client.add_passkey_link().await.unwrap();
        assert_eq!(link.url(), LINK, "{transport}");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0],
        (
            Some(b"h2".to_vec()),
            http::Version::HTTP_2,
            "application/grpc".to_owned()
        )
    );
    // The HTTP/1.1 transports offer `http/1.1` (a server or load balancer may route by ALPN).
    let http11 = Some(b"http/1.1".to_vec());
    assert_eq!(seen[1].1, http::Version::HTTP_11);
    assert_eq!(seen[1].2, "application/grpc-web+proto");
    assert_eq!(seen[1].0, http11);
    assert_eq!(seen[2].1, http::Version::HTTP_11);
    assert_eq!(seen[2].2, "application/json");
    assert_eq!(seen[2].0, http11);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_sending() {
    let (addr, _, seen) = tls_server().await;
    let url = format!("https://localhost:{}", addr.port());
    for transport in Transport::ALL {
        let error = Client::builder(&url)
            .transport(transport)
            .token(TOKEN)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
            .add_passkey_link()
            .await
            .unwrap_err();
        assert!(error.is_not_sent(), "{transport}: {error:?}");
        assert!(!error.is_outcome_unknown());
        // What the CLI's "pass --ca-cert" hint is decided on.
        assert_eq!(error.kind(), ErrorKind::Tls, "{transport}: {error:?}");
    }
    assert!(seen.lock().unwrap().is_empty());
}
