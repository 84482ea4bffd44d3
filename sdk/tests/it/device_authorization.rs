//! `DeviceAuthorization` against scripted OAuth servers (wiremock): the polling rules of RFC
//! 8628, the error kinds, hostile answers, and the refreshing token provider. The whole flow
//! against the mock's real endpoints is tested through the CLI (`cli/tests/sign_in.rs`) and
//! the bindings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use zitadel_passkey::{DeviceAuthorization, Secret, SignInErrorKind, TokenProvider as _, Tokens};

const CLIENT_ID: &str = "312345678901234567";

fn device_answer(interval: u64, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "device_code": "secret-device-code",
        "user_code": "GQWC-FWFK",
        "verification_uri": "https://issuer.example/device",
        "verification_uri_complete": "https://issuer.example/device?user_code=GQWC-FWFK",
        "expires_in": expires_in,
        "interval": interval,
    }))
}

fn oauth_error(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": error, "error_description": "scripted"}))
}

fn token_answer(access: &str, refresh: Option<&str>, expires_in: u64) -> ResponseTemplate {
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in, "scope": "openid"});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// Answers the token endpoint from a script, one answer per poll (the last repeats), and
/// records when each poll came.
struct Script {
    answers: Vec<ResponseTemplate>,
    polls: Arc<std::sync::Mutex<Vec<Instant>>>,
    next: AtomicUsize,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.polls.lock().unwrap().push(Instant::now());
        let i = self
            .next
            .fetch_add(1, Ordering::SeqCst)
            .min(self.answers.len() - 1);
        self.answers[i].clone()
    }
}

/// A server without discovery (404: the flow uses ZITADEL's paths), starting authorizations
/// with `start` and answering polls from `answers`.
async fn server(
    start: ResponseTemplate,
    answers: Vec<ResponseTemplate>,
) -> (MockServer, Arc<std::sync::Mutex<Vec<Instant>>>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/device_authorization"))
        .and(body_string_contains("client_id=312345678901234567"))
        .and(body_string_contains("offline_access"))
        .respond_with(start)
        .mount(&server)
        .await;
    let polls = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("device_code=secret-device-code"))
        .respond_with(Script {
            answers,
            polls: polls.clone(),
            next: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    (server, polls)
}

fn flow(server: &MockServer) -> DeviceAuthorization {
    DeviceAuthorization::builder(server.uri(), CLIENT_ID)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn waits_while_pending_and_returns_the_tokens() {
    let (server, polls) = server(
        device_answer(1, 60),
        vec![
            oauth_error("authorization_pending"),
            token_answer("secret-at", Some("secret-rt"), 3600),
        ],
    )
    .await;
    let pending = flow(&server).start().await.unwrap();
    assert_eq!(pending.user_code(), "GQWC-FWFK");
    assert_eq!(pending.verification_uri(), "https://issuer.example/device");
    assert_eq!(
        pending.verification_uri_complete(),
        Some("https://issuer.example/device?user_code=GQWC-FWFK")
    );
    assert_eq!(pending.interval(), Duration::from_secs(1));
    let debug = format!("{pending:?}");
    assert!(
        !debug.contains("secret") && !debug.contains("GQWC"),
        "{debug}"
    );

    let started = Instant::now();
    let tokens = pending.wait().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two polls a second apart"
    );
    assert_eq!(polls.lock().unwrap().len(), 2);
    assert_eq!(tokens.access_token().expose(), "secret-at");
    assert_eq!(
        tokens.refresh_token().map(Secret::expose),
        Some("secret-rt")
    );
    assert!(tokens.expires_within(Duration::from_secs(3601)));
    assert!(!tokens.expires_within(Duration::from_secs(3500)));
    assert!(!format!("{tokens:?}").contains("secret"));
}

#[tokio::test]
async fn slow_down_adds_five_seconds_to_the_interval() {
    let (server, polls) = server(
        device_answer(1, 60),
        vec![
            oauth_error("slow_down"),
            token_answer("secret-at", None, 3600),
        ],
    )
    .await;
    flow(&server).start().await.unwrap().wait().await.unwrap();
    let polls = polls.lock().unwrap();
    assert_eq!(polls.len(), 2);
    let gap = polls[1] - polls[0];
    assert!(
        gap >= Duration::from_secs(6),
        "the second poll came {gap:?} after the first"
    );
}

#[tokio::test]
async fn denied_and_expired_codes_are_their_own_kinds() {
    for (error, kind) in [
        ("access_denied", SignInErrorKind::Denied),
        ("expired_token", SignInErrorKind::Expired),
        ("invalid_grant", SignInErrorKind::Rejected),
    ] {
        let (server, _) = server(device_answer(1, 60), vec![oauth_error(error)]).await;
        let e = flow(&server)
            .start()
            .await
            .unwrap()
            .wait()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{error}: {e}");
        assert_eq!(e.oauth_error(), Some(error));
        assert!(!format!("{e} {e:?}").contains("secret"), "{e:?}");
    }
}

#[tokio::test]
async fn the_code_expires_on_the_client_side_too() {
    let (server, polls) = server(
        device_answer(1, 2),
        vec![oauth_error("authorization_pending")],
    )
    .await;
    let started = Instant::now();
    let e = flow(&server)
        .start()
        .await
        .unwrap()
        .wait()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SignInErrorKind::Expired, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(polls.lock().unwrap().len() <= 2);
}

#[tokio::test]
async fn hostile_device_answers_are_refused() {
    let base = json!({
        "device_code": "d", "user_code": "ABCD-EFGH",
        "verification_uri": "https://issuer.example/device", "expires_in": 300,
    });
    let cases = [
        ("verification_uri", json!("javascript:alert(1)")),
        ("verification_uri_complete", json!("file:///etc/passwd")),
        ("user_code", json!("AB\u{1b}[2JCD")),
        ("user_code", json!("")),
        ("expires_in", json!(0)),
        ("expires_in", json!(-1)),
        ("device_code", json!("")),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        body[field] = value.clone();
        let (server, _) = server(ResponseTemplate::new(200).set_body_json(body), vec![]).await;
        let e = flow(&server).start().await.unwrap_err();
        assert_eq!(e.kind(), SignInErrorKind::Malformed, "{field}={value}: {e}");
    }
    // A proxy's page, and an answer bigger than any OAuth answer.
    for template in [
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        ResponseTemplate::new(200).set_body_string("x".repeat(100_000)),
    ] {
        let (server, _) = server(template, vec![]).await;
        let e = flow(&server).start().await.unwrap_err();
        assert_eq!(e.kind(), SignInErrorKind::Malformed, "{e}");
    }
}

#[tokio::test]
async fn a_zero_interval_is_clamped_and_a_huge_expiry_capped() {
    let (server, polls) = server(
        device_answer(0, 1_000_000),
        vec![
            oauth_error("authorization_pending"),
            token_answer("secret-at", None, 3600),
        ],
    )
    .await;
    let pending = flow(&server).start().await.unwrap();
    assert_eq!(pending.interval(), Duration::from_secs(1));
    assert_eq!(pending.expires_in(), Duration::from_secs(30 * 60));
    pending.wait().await.unwrap();
    let polls = polls.lock().unwrap();
    assert!(polls[1] - polls[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn discovery_names_the_endpoints_and_is_held_to_the_scheme_rule() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": uri,
            "device_authorization_endpoint": format!("{uri}/custom/device"),
            "token_endpoint": format!("{uri}/custom/token"),
            "revocation_endpoint": format!("{uri}/custom/revoke"),
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/custom/device"))
        .respond_with(device_answer(1, 60))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/custom/token"))
        .respond_with(token_answer("secret-at", None, 60))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/custom/revoke"))
        .and(body_string_contains("token=secret-at"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let flow = flow(&server);
    let tokens = flow.start().await.unwrap().wait().await.unwrap();
    flow.revoke(tokens.access_token()).await.unwrap();

    // Discovery sending the token endpoint to plain http on another host.
    let hostile = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_authorization_endpoint": "http://elsewhere.example/device",
        })))
        .mount(&hostile)
        .await;
    let e = DeviceAuthorization::builder(hostile.uri(), CLIENT_ID)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SignInErrorKind::Insecure, "{e}");
}

#[test]
fn settings_are_checked_when_built() {
    let e = DeviceAuthorization::builder("http://example.com", CLIENT_ID)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), SignInErrorKind::Insecure);
    assert!(
        DeviceAuthorization::builder("http://example.com", CLIENT_ID)
            .allow_insecure_http(true)
            .build()
            .is_ok()
    );
    for (issuer, client) in [
        ("not a url", CLIENT_ID),
        ("https://x.example", " "),
        ("https://x.example", ""),
    ] {
        let e = DeviceAuthorization::builder(issuer, client)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), SignInErrorKind::Config, "{issuer} {client:?}");
    }
    let e = DeviceAuthorization::builder("https://x.example", CLIENT_ID)
        .scopes(["openid", "two words"])
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), SignInErrorKind::Config);
}

#[tokio::test]
async fn an_unreachable_server_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let e = DeviceAuthorization::builder(format!("http://127.0.0.1:{port}"), CLIENT_ID)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SignInErrorKind::Unreachable, "{e}");
}

/// A token endpoint that refreshes `secret-rt-N` into `secret-at-N+1`/`secret-rt-N+1`.
struct Rotating {
    refreshes: Arc<AtomicUsize>,
}

impl Respond for Rotating {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        assert!(body.contains("grant_type=refresh_token"), "{body}");
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            body.contains(&format!("refresh_token=secret-rt-{}", n - 1)),
            "{body}"
        );
        token_answer(
            &format!("secret-at-{n}"),
            Some(&format!("secret-rt-{n}")),
            3600,
        )
    }
}

#[tokio::test]
async fn the_provider_refreshes_before_expiry_and_when_rejected() {
    let server = MockServer::start().await;
    let refreshes = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(Rotating {
            refreshes: refreshes.clone(),
        })
        .mount(&server)
        .await;
    let stored = Arc::new(std::sync::Mutex::new(Vec::<Tokens>::new()));
    let kept = stored.clone();
    // Expires in 30 s: within the refresh margin.
    let tokens = Tokens::new(
        Secret::new("secret-at-0"),
        Some(Secret::new("secret-rt-0")),
        Some(SystemTime::now() + Duration::from_secs(30)),
        None,
    );
    let provider = flow(&server)
        .token_provider(tokens)
        .on_refresh(move |t| kept.lock().unwrap().push(t.clone()));

    // Concurrent callers share one refresh.
    let (a, b) = tokio::join!(provider.token(false), provider.token(false));
    assert_eq!(a.unwrap().expose(), "secret-at-1");
    assert_eq!(b.unwrap().expose(), "secret-at-1");
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // Fresh now: no request.
    assert_eq!(provider.token(false).await.unwrap().expose(), "secret-at-1");
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // The API rejected it: refresh again, with the rotated refresh token.
    assert_eq!(provider.token(true).await.unwrap().expose(), "secret-at-2");
    let stored = stored.lock().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].refresh_token().map(Secret::expose),
        Some("secret-rt-2")
    );
    assert_eq!(provider.tokens(), stored[1]);
    assert!(!format!("{provider:?}").contains("secret"));
}

#[tokio::test]
async fn without_a_refresh_token_an_expired_sign_in_says_so() {
    let server = MockServer::start().await;
    let expired = Tokens::new(
        Secret::new("secret-at"),
        None,
        Some(SystemTime::now() - Duration::from_secs(1)),
        None,
    );
    let provider = flow(&server).token_provider(expired);
    let e = provider.token(false).await.unwrap_err();
    assert!(e.to_string().contains("sign in again"), "{e}");
    // Still valid but rejected: the same.
    let valid = Tokens::new(Secret::new("secret-at"), None, None, None);
    let provider = flow(&server).token_provider(valid);
    assert_eq!(provider.token(false).await.unwrap().expose(), "secret-at");
    assert!(provider.token(true).await.is_err());
}

#[test]
fn tokens_round_trip_through_serde() {
    let tokens = Tokens::new(
        Secret::new("a"),
        Some(Secret::new("r")),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        Some("openid offline_access".to_owned()),
    );
    let json = serde_json::to_value(&tokens).unwrap();
    assert_eq!(
        json,
        json!({"access_token": "a", "refresh_token": "r", "expires_at": 1_800_000_000u64, "scope": "openid offline_access"})
    );
    let back: Tokens = serde_json::from_value(json).unwrap();
    assert_eq!(back, tokens);
    let minimal: Tokens = serde_json::from_value(json!({"access_token": "a"})).unwrap();
    assert_eq!(minimal.refresh_token(), None);
}
