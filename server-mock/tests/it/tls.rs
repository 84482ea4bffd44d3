//! TLS: ALPN h2 and http/1.1 on one port, every transport, links with `https://`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::*;
use http::{Method, Version};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::MockServer;

struct Tls {
    mock: MockServer,
    connector: TlsConnector,
    h1: TlsConnector,
}

async fn start() -> Tls {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let mock = MockServer::builder()
        .tls(cert_pem, key_pem)
        .start()
        .await
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = |alpn: &[u8]| {
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        TlsConnector::from(Arc::new(config))
    };
    Tls {
        connector: config(b"h2"),
        h1: config(b"http/1.1"),
        mock,
    }
}

async fn tls_send(
    tls: &Tls,
    version: Version,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let tcp = TcpStream::connect(tls.mock.local_addr()).await.unwrap();
    let connector = if version == Version::HTTP_2 {
        &tls.connector
    } else {
        &tls.h1
    };
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let expected: &[u8] = if version == Version::HTTP_2 {
        b"h2"
    } else {
        b"http/1.1"
    };
    assert_eq!(negotiated.as_deref(), Some(expected));
    let authority = format!("localhost:{}", tls.mock.local_addr().port());
    send_io(
        stream,
        &authority,
        "https",
        version,
        Method::POST,
        path,
        headers,
        body,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn every_transport_over_tls() {
    let tls = start().await;
    assert!(tls.mock.uri().starts_with("https://127.0.0.1:"));
    let origin = format!(
        "https://localhost:{}/ui/login/login/passwordless/init?",
        tls.mock.local_addr().port()
    );

    // REST over h2 and http/1.1.
    for version in [Version::HTTP_2, Version::HTTP_11] {
        let reply = tls_send(
            &tls,
            version,
            REST_ADD,
            &[("authorization", "Bearer t")],
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(reply.json()["link"].as_str().unwrap().starts_with(&origin));
    }
    // gRPC over h2.
    let reply = tls_send(
        &tls,
        Version::HTTP_2,
        ADD_PATH,
        &[
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", "Bearer t"),
        ],
        message_frame(&AddMyPasswordlessLinkRequest {}),
    )
    .await;
    assert_eq!(grpc_status(reply.trailers.as_ref().unwrap()).code, 0);
    let response: AddMyPasswordlessLinkResponse = prost::Message::decode(&reply.body[5..]).unwrap();
    assert!(response.link.starts_with(&origin));
    // gRPC-web over http/1.1 and h2.
    for version in [Version::HTTP_11, Version::HTTP_2] {
        let reply = tls_send(
            &tls,
            version,
            ADD_PATH,
            &[
                ("content-type", "application/grpc-web+proto"),
                ("authorization", "Bearer nope nope"),
            ],
            message_frame(&AddMyPasswordlessLinkRequest {}),
        )
        .await;
        let status = grpc_status(&parse_grpc_web(&reply).trailers);
        assert_eq!(status.detail.unwrap().id, "AUTH-7fs1e");
    }
    assert_eq!(tls.mock.journal().len(), 5);
}

#[tokio::test]
async fn plain_text_on_a_tls_port_is_refused_and_the_server_goes_on() {
    let tls = start().await;
    let result = send(
        tls.mock.local_addr(),
        Version::HTTP_11,
        Method::POST,
        REST_ADD,
        &[],
        "{}",
    )
    .await;
    assert!(result.is_err() || result.unwrap().status.is_client_error());
    let reply = tls_send(
        &tls,
        Version::HTTP_2,
        REST_ADD,
        &[("authorization", "Bearer t")],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn bad_pem_is_an_error_not_a_panic() {
    let error = MockServer::builder()
        .tls("not a cert", "not a key")
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[cfg(unix)]
#[tokio::test]
async fn binary_serves_tls_from_pem_files() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("zitadel-mock-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zitadel-passkey-mock"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.join("key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        line.starts_with("listening on https://127.0.0.1:"),
        "{line:?}"
    );

    // --tls-cert without --tls-key is a usage error.
    let output = Command::new(env!("CARGO_BIN_EXE_zitadel-passkey-mock"))
        .args(["--tls-cert", "x.pem"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}
