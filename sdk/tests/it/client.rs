//! The client above the seam, with fake stubs: credentials and refresh, retries only before
//! sending, deadlines, and secrets kept out of `Debug`, `Display`, errors and logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::common::*;
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey::{
    BoxFuture, CallMetadata, CallOptions, Client, Code, Error, PasskeyLink, RetryPolicy, Secret,
    Stub, TokenProvider, Transport,
};

type Reply = Box<dyn FnOnce(&CallMetadata) -> Result<AddMyPasswordlessLinkResponse, Error> + Send>;

type Answer =
    Box<dyn Fn(&CallMetadata) -> Result<AddMyPasswordlessLinkResponse, Error> + Send + Sync>;

/// A stub that answers `AddMyPasswordlessLink` from a queue (or by a default) and records the
/// metadata of every attempt.
#[derive(Default)]
struct Fake {
    replies: Mutex<VecDeque<Reply>>,
    default: Option<Answer>,
    seen: Mutex<Vec<CallMetadata>>,
    hang: bool,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake")
    }
}

#[derive(Debug, Clone)]
struct Shared(Arc<Fake>);

impl Shared {
    fn attempts(&self) -> usize {
        self.0.seen.lock().unwrap().len()
    }
    fn tokens(&self) -> Vec<String> {
        self.0
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|m| {
                m.token
                    .as_ref()
                    .map(|t| t.expose().to_owned())
                    .unwrap_or_default()
            })
            .collect()
    }
}

fn unimplemented<T>() -> BoxFuture<'static, Result<T, Error>> {
    Box::pin(async { Err(Error::new(Code::Unimplemented, "fake")) })
}

impl Stub for Shared {
    fn transport(&self) -> Transport {
        Transport::Grpc
    }
    fn add_my_passwordless_link(
        &self,
        _: AddMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<AddMyPasswordlessLinkResponse, Error>> {
        Box::pin(async move {
            self.0.seen.lock().unwrap().push(metadata.clone());
            if self.0.hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            tokio::task::yield_now().await;
            let reply = self.0.replies.lock().unwrap().pop_front();
            match reply {
                Some(reply) => reply(&metadata),
                None => (self.0.default.as_ref().unwrap())(&metadata),
            }
        })
    }
    fn send_my_passwordless_link(
        &self,
        _: SendMyPasswordlessLinkRequest,
        _: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        unimplemented()
    }
    fn list_my_passwordless(
        &self,
        _: ListMyPasswordlessRequest,
        _: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        unimplemented()
    }
    fn remove_my_passwordless(
        &self,
        _: RemoveMyPasswordlessRequest,
        _: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        unimplemented()
    }
}

fn fake(
    default: impl Fn(&CallMetadata) -> Result<AddMyPasswordlessLinkResponse, Error>
    + Send
    + Sync
    + 'static,
) -> Shared {
    Shared(Arc::new(Fake {
        default: Some(Box::new(default)),
        ..Fake::default()
    }))
}

fn unauthenticated() -> Error {
    Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e")
}

/// A provider whose current token is "old" until refreshed, then "new-<n>".
#[derive(Debug, Default)]
struct Rotating {
    asked: AtomicUsize,
    refreshes: AtomicUsize,
    fail: bool,
}

impl TokenProvider for Rotating {
    fn token(
        &self,
        refresh: bool,
    ) -> BoxFuture<'_, Result<Secret, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            if self.fail {
                return Err("identity provider down".into());
            }
            self.asked.fetch_add(1, Ordering::SeqCst);
            if refresh {
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.refreshes.fetch_add(1, Ordering::SeqCst);
            }
            match self.refreshes.load(Ordering::SeqCst) {
                0 => Ok(Secret::new("old")),
                n => Ok(Secret::new(format!("new-{n}"))),
            }
        })
    }
}

fn accept_only_new(metadata: &CallMetadata) -> Result<AddMyPasswordlessLinkResponse, Error> {
    match metadata.token.as_ref().map(Secret::expose) {
        Some(token) if token.starts_with("new") => Ok(link_response()),
        _ => Err(unauthenticated()),
    }
}

fn with_provider(stub: Shared, provider: Arc<Rotating>) -> Client {
    Client::from_stub_with(
        stub,
        Client::builder("http://localhost").token_provider(provider),
    )
}

// The client and its fakes run on tokio's timer only: the paused clock jumps over the provider's
// 20 ms refresh (and makes the overlap of concurrent calls exact) instead of waiting for it.
#[tokio::test(start_paused = true)]
async fn the_provider_is_asked_before_each_call_and_refreshes_once_on_unauthenticated() {
    let stub = fake(accept_only_new);
    let provider = Arc::new(Rotating::default());
    let client = with_provider(stub.clone(), provider.clone());
    client.add_passkey_link().await.unwrap();
    assert_eq!(stub.tokens(), ["old", "new-1"]);
    client.add_passkey_link().await.unwrap();
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(
        provider.asked.load(Ordering::SeqCst),
        3,
        "before each call, plus the refresh"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_unauthenticated_is_returned_not_looped() {
    let stub = fake(|_| Err(unauthenticated()));
    let provider = Arc::new(Rotating::default());
    let error = with_provider(stub.clone(), provider.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(error.error_id(), Some("AUTH-7fs1e"));
    assert_eq!(stub.attempts(), 2);
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_share_one_refresh() {
    let stub = fake(accept_only_new);
    let provider = Arc::new(Rotating::default());
    let client = with_provider(stub.clone(), provider.clone());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.add_passkey_link().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_static_token_is_not_retried_and_a_failing_provider_sends_nothing() {
    let stub = fake(|_| Err(unauthenticated()));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost").token(TOKEN),
    );
    client.add_passkey_link().await.unwrap_err();
    assert_eq!(stub.attempts(), 1);

    let stub = fake(|_| Ok(link_response()));
    let provider = Arc::new(Rotating {
        fail: true,
        ..Rotating::default()
    });
    let error = with_provider(stub.clone(), provider)
        .add_passkey_link()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(error.is_not_sent());
    assert!(error.to_string().contains("identity provider down"));
    assert_eq!(stub.attempts(), 0);
}

fn retrying(stub: Shared, sleep: RecordingSleep) -> Client {
    Client::from_stub_with(
        stub,
        Client::builder("http://localhost")
            .token(TOKEN)
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(4)
                    .with_backoff(Duration::from_millis(100), Duration::from_millis(250))
                    .with_sleep(sleep),
            ),
    )
}

#[tokio::test]
async fn only_errors_before_sending_are_retried() {
    let sleep = RecordingSleep::default();
    let stub = fake(|_| Err(Error::new(Code::Unavailable, "reset").outcome_unknown()));
    let error = retrying(stub.clone(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown());
    assert_eq!(stub.attempts(), 1);
    assert!(sleep.waits.lock().unwrap().is_empty());

    for status in [Code::Unavailable, Code::Internal, Code::ResourceExhausted] {
        let stub = fake(move |_| Err(Error::new(status, "from the server")));
        retrying(stub.clone(), sleep.clone())
            .add_passkey_link()
            .await
            .unwrap_err();
        assert_eq!(stub.attempts(), 1, "{status}");
    }

    let stub = fake(|_| Err(Error::new(Code::Unavailable, "connection refused").not_sent()));
    let error = retrying(stub.clone(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap_err();
    assert!(error.is_not_sent());
    assert_eq!(stub.attempts(), 4);
    let waits = sleep.waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 3);
    let caps = [100u64, 200, 250];
    for (wait, cap) in waits.iter().zip(caps) {
        assert!(*wait <= Duration::from_millis(cap), "{waits:?}");
    }
}

#[tokio::test]
async fn retry_before_sending_then_success() {
    let sleep = RecordingSleep::default();
    let stub = fake(|_| Ok(link_response()));
    for _ in 0..2 {
        stub.0.replies.lock().unwrap().push_back(Box::new(|_| {
            Err(Error::new(Code::Unavailable, "refused").not_sent())
        }));
    }
    let link = retrying(stub.clone(), sleep.clone())
        .add_passkey_link()
        .await
        .unwrap();
    assert_eq!(link.url(), LINK);
    assert_eq!(stub.attempts(), 3);
    assert_eq!(sleep.waits.lock().unwrap().len(), 2);
}

// Paused clock: the default retry sleep and the deadline are tokio's, so a back-off the client
// waited would show as elapsed tokio time, however loaded the machine.
#[tokio::test(start_paused = true)]
async fn retries_never_wait_past_the_deadline() {
    let stub = fake(|_| Err(Error::new(Code::Unavailable, "refused").not_sent()));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost")
            .timeout(Duration::from_millis(50))
            .retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::from_secs(1), Duration::from_secs(1))
                    .with_jitter(false),
            ),
    );
    let started = Instant::now();
    client.add_passkey_link().await.unwrap_err();
    assert_eq!(stub.attempts(), 1);
    let elapsed = started.elapsed();
    assert!(elapsed <= Duration::from_millis(50), "{elapsed:?}");
}

// Paused clock: the stub hangs on tokio's timer and the deadline is tokio's, so the 100 ms window
// holds exactly instead of depending on the machine's load.
#[tokio::test(start_paused = true)]
async fn the_deadline_is_honoured_within_100ms_and_passed_to_the_stub() {
    let stub = Shared(Arc::new(Fake {
        hang: true,
        ..Fake::default()
    }));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost").timeout(Duration::from_secs(60)),
    );
    let started = Instant::now();
    let error = client
        .add_passkey_link_with(CallOptions::new().timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        error.is_timeout() && error.is_outcome_unknown(),
        "{error:?}"
    );
    assert_eq!(error.code(), Code::DeadlineExceeded);
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_millis(300),
        "{elapsed:?}"
    );
    let sent = stub.0.seen.lock().unwrap()[0].timeout.unwrap();
    assert!(
        sent <= Duration::from_millis(200) && sent > Duration::from_millis(150),
        "{sent:?}"
    );
}

#[tokio::test]
async fn per_call_options_override_the_client() {
    let stub = fake(|_| Ok(link_response()));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost")
            .org_id("client-org")
            .accept_language("de"),
    );
    client.add_passkey_link().await.unwrap();
    client
        .add_passkey_link_with(CallOptions::new().org_id("call-org").accept_language("fr"))
        .await
        .unwrap();
    let seen = stub.0.seen.lock().unwrap().clone();
    assert_eq!(seen[0].org_id.as_deref(), Some("client-org"));
    assert_eq!(seen[1].org_id.as_deref(), Some("call-org"));
    assert_eq!(seen[1].accept_language.as_deref(), Some("fr"));
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_display() {
    let stub = fake(|_| Ok(link_response()));
    let builder = Client::builder("http://localhost").token(TOKEN);
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = Client::from_stub_with(stub.clone(), builder);
    assert!(!format!("{client:?}").contains(TOKEN));
    let link = client.add_passkey_link().await.unwrap();
    for text in [
        format!("{link:?}"),
        format!("{link}"),
        format!("{link:#?}"),
        link.redacted_url(),
    ] {
        assert!(!text.contains(CODE), "{text}");
        assert!(text.contains("code=***"), "{text}");
    }
    assert!(link.url().contains(CODE));
    let metadata = stub.0.seen.lock().unwrap()[0].clone();
    assert!(!format!("{metadata:?}").contains(TOKEN));
    let secret = Secret::new(TOKEN);
    assert!(!format!("{secret:?} {secret}").contains(TOKEN));
    let real = Client::builder("http://localhost")
        .token(TOKEN)
        .build()
        .unwrap();
    assert!(!format!("{real:?}").contains(TOKEN));
}

#[test]
fn client_is_cheap_to_share() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Client>();
    assert_traits::<Error>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}

#[test]
fn builder_refuses_plain_http_to_remote_hosts_and_unknown_schemes() {
    for bad in [
        "http://zitadel.example.com",
        "ftp://localhost",
        "localhost:8080",
        "",
    ] {
        let error = Client::builder(bad).build().unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{bad}");
        assert!(error.is_not_sent());
    }
    Client::builder("http://zitadel.example.com")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    for transport in Transport::ALL {
        let client = Client::builder("https://zitadel.example.com")
            .transport(transport)
            .build()
            .unwrap();
        assert_eq!(client.transport(), transport);
    }
}

#[tokio::test]
async fn an_empty_passkey_id_is_refused_before_sending() {
    let stub = fake(|_| Err(Error::new(Code::Internal, "unused")));
    let client = Client::from_stub(stub);
    for id in ["", "  "] {
        let error = client.remove_passkey(id).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{id:?}");
        assert!(error.is_not_sent(), "{id:?}");
    }
    // A non-empty ID reaches the stub (whose fake answers UNIMPLEMENTED).
    let error = client.remove_passkey("1").await.unwrap_err();
    assert_eq!(error.code(), Code::Unimplemented);
}

#[test]
fn links_are_equal_when_the_server_sent_the_same_response() {
    let raw = AddMyPasswordlessLinkResponse {
        link: "https://acme.com/ui/login/login/passwordless/init?userID=1&orgID=2&codeID=3&code=abcdefghijkl".into(),
        expiration: Some(zitadel_passkey::wkt::Duration::from_secs(3600).unwrap()),
        details: None,
    };
    let first = PasskeyLink::try_from(raw.clone()).unwrap();
    // Real time on purpose: `expires_at` is computed from the system clock, which tokio's
    // paused clock does not move.
    std::thread::sleep(Duration::from_millis(2));
    let second = PasskeyLink::try_from(raw.clone()).unwrap();
    assert_ne!(first.expires_at(), second.expires_at());
    assert_eq!(first, second);
    let other = PasskeyLink::try_from(AddMyPasswordlessLinkResponse {
        link: raw.link.replace("code=abcdefghijkl", "code=mnopqrstuvwx"),
        ..raw
    })
    .unwrap();
    assert_ne!(first, other);
}

#[tokio::test]
async fn huge_timeouts_and_backoffs_do_not_panic() {
    // Duration::MAX as a deadline or a backoff must not overflow the clock.
    let stub = fake(|_| Ok(link_response()));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost").timeout(Duration::MAX),
    );
    client.add_passkey_link().await.unwrap();
    client
        .add_passkey_link_with(CallOptions::new().timeout(Duration::MAX))
        .await
        .unwrap();
    assert_eq!(stub.attempts(), 2);

    let sleep = RecordingSleep::default();
    let stub = fake(|_| Err(Error::new(Code::Unavailable, "refused").not_sent()));
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost")
            .timeout(Duration::from_secs(60))
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_backoff(Duration::MAX, Duration::MAX)
                    .with_jitter(false)
                    .with_sleep(sleep.clone()),
            ),
    );
    let error = client.add_passkey_link().await.unwrap_err();
    assert!(error.is_not_sent());
    assert_eq!(
        stub.attempts(),
        1,
        "a backoff past the deadline is not waited"
    );
    assert!(sleep.waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_token_the_server_echoes_back_is_redacted_from_the_error() {
    // A proxy or a broken server may quote the rejected token in its message or error id.
    let stub = fake(|_| {
        Err(
            Error::new(Code::Unauthenticated, format!("token {TOKEN} is not valid"))
                .with_error_id(format!("ID-{TOKEN}")),
        )
    });
    let client = Client::from_stub_with(
        stub.clone(),
        Client::builder("http://localhost").token(TOKEN),
    );
    let error = client.add_passkey_link().await.unwrap_err();
    for text in [
        error.to_string(),
        format!("{error:?}"),
        error.message().to_owned(),
        error.error_id().unwrap_or_default().to_owned(),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert_eq!(error.message(), "token *** is not valid");
    assert_eq!(error.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_deadline_exceeded_from_the_server_leaves_the_outcome_unknown_and_is_not_retried() {
    let stub = fake(|_| {
        Err(Error::new(
            Code::DeadlineExceeded,
            "context deadline exceeded",
        ))
    });
    let client = Client::from_stub(stub.clone());
    let error = client.add_passkey_link().await.unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(error.is_timeout());
    assert_eq!(stub.attempts(), 1);
    // Other statuses are known outcomes: the server did nothing.
    let error = Error::new(Code::Unavailable, "down");
    assert!(!error.is_outcome_unknown());
}
