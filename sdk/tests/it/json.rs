//! REST/JSON against wiremock (and raw TCP servers for a slow drip and chunked floods): paths from
//! the HTTP rule table, headers, canonical JSON both ways, errors, proxies, redirects, limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;
use zitadel_passkey::{CallOptions, Client, Code, RetryPolicy, Transport};

const LINK_PATH: &str = "/auth/v1/users/me/passwordless/_link";

fn client(url: &str) -> Client {
    test_client(url, Transport::Json)
}

fn link_json() -> serde_json::Value {
    json!({
        "details": {"sequence": "2", "creationDate": "2023-05-12T08:30:15.120Z", "resourceOwner": "165947650742997249"},
        "link": LINK,
        "expiration": "3600s",
        "someFutureField": {"ignored": true}
    })
}

async fn add_error(template: ResponseTemplate) -> zitadel_passkey::Error {
    let server = answering_once(LINK_PATH, template).await;
    client(&server.uri()).add_passkey_link().await.unwrap_err()
}

#[tokio::test]
async fn add_link_posts_json_to_the_gateway_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LINK_PATH))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-zitadel-orgid", "42"))
        .and(header("accept-language", "it"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(link_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .transport(Transport::Json)
        .token(TOKEN)
        .org_id("42")
        .accept_language("it")
        .build()
        .unwrap();
    let link = client.add_passkey_link().await.unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(link.raw(), &link_response());
    assert_eq!(
        link.details().creation_date.unwrap().to_string(),
        "2023-05-12T08:30:15.120Z"
    );
    let request = &server.received_requests().await.unwrap()[0];
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("zitadel-passkey-rust/")
    );
}

#[tokio::test]
async fn list_send_and_remove_use_their_rules() {
    let server = MockServer::start().await;
    // The search has no body: a POST without one says so (`content-length: 0`).
    Mock::given(method("POST"))
        .and(path("/auth/v1/users/me/passwordless/_search"))
        .and(header("content-length", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result": [{"id": "1", "state": "AUTH_FACTOR_STATE_READY", "name": "laptop"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/v1/users/me/passwordless/_send_link"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "details": {"sequence": "3", "creationDate": "2024-01-01T00:00:00Z", "resourceOwner": "9"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/auth/v1/users/me/passwordless/a%2Fb%20c"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "details": {"sequence": "4", "changeDate": "2024-01-01T00:00:00Z", "resourceOwner": "9"}
        })))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let passkeys = client.list_passkeys().await.unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!((passkeys[0].id(), passkeys[0].name()), ("1", "laptop"));
    assert_eq!(passkeys[0].state(), AuthFactorState::Ready);
    assert_eq!(client.send_passkey_link().await.unwrap().sequence, 3);
    assert_eq!(client.remove_passkey("a/b c").await.unwrap().sequence, 4);
}

#[tokio::test]
async fn zitadel_errors_are_read_from_the_status_body() {
    let error = add_error(ResponseTemplate::new(401).insert_header("www-authenticate", "Bearer").set_body_json(json!({
        "code": 16,
        "message": "Errors.Token.Invalid (AUTH-7fs1e)",
        "details": [{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": "AUTH-7fs1e", "message": "Errors.Token.Invalid"}]
    })))
    .await;
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(error.error_id(), Some("AUTH-7fs1e"));
    assert_eq!(error.http_status(), Some(401));
    assert_eq!(
        error.to_string(),
        "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
    );
    assert!(!error.is_outcome_unknown());
}

#[tokio::test]
async fn proxy_answers_are_outcome_unknown_and_not_retried() {
    for status in [502u16, 503, 504] {
        let error =
            add_error(ResponseTemplate::new(status).set_body_string("<html>Bad Gateway</html>"))
                .await;
        assert!(error.is_outcome_unknown(), "{status}: {error:?}");
        assert_eq!(error.http_status(), Some(status));
        assert!(!error.is_not_sent());
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LINK_PATH))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/elsewhere", server.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_json(link_json()))
        .expect(0)
        .mount(&server)
        .await;
    let error = client(&server.uri()).add_passkey_link().await.unwrap_err();
    assert_eq!(error.http_status(), Some(307));
}

#[tokio::test]
async fn bad_bodies_are_typed_errors() {
    let mut too_long = link_json();
    too_long["expiration"] = json!("315576000001s");
    let mut bad_time = link_json();
    bad_time["details"]["creationDate"] = json!("10000-01-01T00:00:00Z");
    let mut bad_link = link_json();
    bad_link["link"] = json!("not a link");
    for (what, template) in [
        (
            "not json",
            ResponseTemplate::new(200).set_body_string("<html>"),
        ),
        (
            "duration",
            ResponseTemplate::new(200).set_body_json(too_long),
        ),
        (
            "timestamp",
            ResponseTemplate::new(200).set_body_json(bad_time),
        ),
        ("link", ResponseTemplate::new(200).set_body_json(bad_link)),
        (
            "too big",
            ResponseTemplate::new(200).set_body_bytes(vec![b' '; 5 * 1024 * 1024]),
        ),
    ] {
        let error = add_error(template).await;
        assert!(error.is_outcome_unknown(), "{what}: {error:?}");
    }
}

#[tokio::test]
async fn a_chunked_flood_is_cut_at_4_mib() {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_owned();
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024)).repeat(80);
    let (addr, _) = http1_server(head, chunk.into_bytes(), None).await;
    let error = client(&format!("http://{addr}"))
        .add_passkey_link()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
}

#[tokio::test]
async fn the_deadline_ends_the_call_when_the_server_hangs_or_drips() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(link_json())
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n"
            .to_owned();
    let (drip, _) = http1_server(head, b" ".to_vec(), Some(Duration::from_millis(5))).await;
    for url in [server.uri(), format!("http://{drip}")] {
        let started = Instant::now();
        let error = client(&url)
            .add_passkey_link_with(CallOptions::new().timeout(Duration::from_millis(300)))
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(error.is_timeout(), "{error:?}");
        assert!(error.is_outcome_unknown());
        // The server holds its answer far longer: ending within a few seconds shows the 300 ms
        // deadline ended the call. How late a timer fires on a loaded machine is not behaviour
        // (the client's paused-clock test pins the deadline exactly).
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_succeeds() {
    let addr = dead_port().await;
    let started = std::sync::Arc::new(tokio::sync::OnceCell::new());
    let cell = started.clone();
    let sleep = RecordingSleep::with_hook(move || {
        let cell = cell.clone();
        Box::pin(async move {
            cell.get_or_init(|| async {
                let listener = std::net::TcpListener::bind(addr).unwrap();
                let server = MockServer::builder().listener(listener).start().await;
                Mock::given(method("POST"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(link_json()))
                    .mount(&server)
                    .await;
                server
            })
            .await;
        })
    });
    let client = Client::builder(format!("http://{addr}"))
        .transport(Transport::Json)
        .token(TOKEN)
        .retry_policy(RetryPolicy::default().with_sleep(sleep.clone()))
        .build()
        .unwrap();
    let link = client.add_passkey_link().await.unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(sleep.waits.lock().unwrap().len(), 1);
    assert_eq!(
        started
            .get()
            .unwrap()
            .received_requests()
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn http1_keep_alive_connections_are_reused() {
    let body = serde_json::to_vec(&link_json()).unwrap();
    let (addr, connections, versions) = http1_keepalive_server("application/json", body).await;
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

/// Hands out a token and counts the refreshes asked for.
#[derive(Debug, Default)]
struct CountingProvider(std::sync::atomic::AtomicUsize);

impl zitadel_passkey::TokenProvider for CountingProvider {
    fn token(
        &self,
        refresh: bool,
    ) -> zitadel_passkey::BoxFuture<
        '_,
        Result<zitadel_passkey::Secret, Box<dyn std::error::Error + Send + Sync>>,
    > {
        if refresh {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Box::pin(async { Ok(zitadel_passkey::Secret::new(TOKEN)) })
    }
}

#[tokio::test]
async fn a_proxy_5xx_with_a_status_body_is_not_a_server_rejection() {
    // ZITADEL's gateway answers UNAUTHENTICATED with 401 and OK never as an error; a 5xx
    // carrying another code's body came from something in between that may have forwarded the
    // request. It must not pass for a rejection (which would refresh the token and send again).
    for (status, body) in [
        (
            502u16,
            json!({"code": 16, "message": "Errors.Token.Invalid"}),
        ),
        (503, json!({"code": 16, "message": "upstream says no"})),
        (500, json!({"code": 0, "message": "ok?"})),
    ] {
        let server = answering_once(
            LINK_PATH,
            ResponseTemplate::new(status).set_body_json(body.clone()),
        )
        .await;
        let provider = std::sync::Arc::new(CountingProvider::default());
        let client = Client::builder(server.uri())
            .transport(Transport::Json)
            .token_provider(provider.clone())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let error = client.add_passkey_link().await.unwrap_err();
        assert!(error.is_outcome_unknown(), "{status} {body}: {error:?}");
        assert_ne!(error.code(), Code::Unauthenticated, "{status} {body}");
        assert_ne!(error.code(), Code::Ok, "{status} {body}");
        assert_eq!(error.http_status(), Some(status));
        assert_eq!(provider.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
    // A 4xx that says OK in its body is a proxy's answer, read by gRPC's HTTP table.
    let error = add_error(ResponseTemplate::new(400).set_body_json(json!({"code": 0}))).await;
    assert_eq!(error.code(), Code::Internal, "{error:?}");
}

#[tokio::test]
async fn a_malformed_body_never_echoes_the_code_in_the_error() {
    let mut link_as_number = link_json();
    link_as_number["expiration"] = json!(LINK);
    for body in [json!(LINK), json!([LINK]), link_as_number] {
        let error = add_error(ResponseTemplate::new(200).set_body_json(body.clone())).await;
        assert!(error.is_outcome_unknown(), "{body}: {error:?}");
        for text in [
            error.to_string(),
            format!("{error:?}"),
            error.message().to_owned(),
        ] {
            assert!(!text.contains(CODE), "{body}: {text}");
        }
    }
}
