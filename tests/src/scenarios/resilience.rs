//! Deadlines, retries and token refresh.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use futures::future::BoxFuture;
use zitadel_passkey::{
    CallOptions, Code, Error, RetryPolicy, Secret, Sleep, TokenProvider, Transport,
};
use zitadel_passkey_mock::{Fault, MockServer, token_fingerprint};
use zitadel_passkey_test_support::grpc_timeout;

use crate::ctx::{self, Ctx, TOKEN_A, TOKEN_UNKNOWN, USER_A};
use crate::ensure_eq;
use crate::tap::{Rewrite, Tap};

const ADD: &str = "AddMyPasswordlessLink";

/// A server slower than the deadline: DEADLINE_EXCEEDED within a generous bound, per call and
/// per client, and no retry (a tap in front of the mock counts the attempts).
pub async fn deadline(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let delay = Duration::from_millis(1500);
    mock.push_fault(Fault::delay(delay).method(ADD).times(2));
    let tap = Tap::start(&ctx.endpoint(), Rewrite::None).await?;
    let client = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .retry_policy(RetryPolicy::default().with_max_attempts(5))
        .build()?;
    let started = tokio::time::Instant::now();
    let error = client
        .add_passkey_link_with(CallOptions::new().timeout(Duration::from_millis(200)))
        .await
        .err()
        .context("a call slower than its deadline succeeded")?;
    ensure!(
        started.elapsed() < Duration::from_millis(1200),
        "the 200 ms deadline was not honoured: {:?}",
        started.elapsed()
    );
    ensure_eq!(error.code(), Code::DeadlineExceeded, "{error}");
    ensure!(error.is_timeout(), "{error:?}");

    let short = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .timeout(Duration::from_millis(200))
        .build()?;
    let error = short.add_passkey_link().await.err().context("succeeded")?;
    ensure!(
        error.is_timeout(),
        "the client's default deadline: {error:?}"
    );

    tokio::time::sleep(delay + Duration::from_millis(300)).await;
    ensure_eq!(tap.requests().len(), 2, "attempts of two timed-out calls");
    ensure!(
        mock.pending_faults().is_empty(),
        "a delayed call never reached the mock"
    );
    Ok(())
}

/// The deadline travels as `grpc-timeout` on gRPC and gRPC-web (seen by a tap), at most the
/// call's deadline, and the mock honours it: the handler never runs.
pub async fn deadline_travels(ctx: Ctx) -> Result<()> {
    const DEADLINE: Duration = Duration::from_millis(800);
    let mock = ctx.mock()?;
    let delay = Duration::from_millis(1500);
    mock.push_fault(Fault::delay(delay).method(ADD));
    let tap = Tap::start(&ctx.endpoint(), Rewrite::None).await?;
    let result = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .build()?
        // Far below the delay, and long enough that a loaded machine still sends the request
        // before it passes (at 300 ms a busy 2-core run sometimes timed out before connecting).
        .add_passkey_link_with(CallOptions::new().timeout(DEADLINE))
        .await;
    let error = result.err().context("succeeded")?;
    ensure!(error.is_timeout(), "{error:?}");
    let sent: Vec<Option<Duration>> = tap
        .requests()
        .iter()
        .map(|h| {
            h.get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(grpc_timeout)
        })
        .collect();
    ensure_eq!(sent.len(), 1, "attempts");
    if ctx.transport == Transport::Json {
        return Ok(());
    }
    let sent = sent[0].context("no (valid) grpc-timeout header")?;
    ensure!(
        sent > Duration::ZERO && sent <= DEADLINE,
        "grpc-timeout {sent:?} for a {DEADLINE:?} deadline"
    );
    tokio::time::sleep(delay + Duration::from_millis(300)).await;
    ensure!(
        mock.live_codes().is_empty(),
        "the handler ran past grpc-timeout"
    );
    Ok(())
}

/// The mock journals a call whose client gave up before the answer (deadline), so that "one
/// journal entry per attempt" can prove there was no retry.
pub async fn journal_abandoned(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let delay = Duration::from_millis(1000);
    mock.push_fault(Fault::delay(delay).method(ADD));
    let error = ctx
        .client()?
        .add_passkey_link_with(CallOptions::new().timeout(Duration::from_millis(150)))
        .await
        .err()
        .context("succeeded")?;
    ensure!(error.is_timeout(), "{error:?}");
    tokio::time::sleep(delay + Duration::from_millis(300)).await;
    let journal = ctx.journal(ADD)?;
    ensure_eq!(
        journal.len(),
        1,
        "journal entries of a call whose client gave up (server-mock/src/server.rs records the \
         entry after route().await; a client that goes away first drops the future, and the entry)"
    );
    ensure_eq!(journal[0].fault, Some("delay"));
    Ok(())
}

/// A sleep that records its durations.
#[derive(Debug, Default, Clone)]
struct Recorded(Arc<Mutex<Vec<Duration>>>);

impl Sleep for Recorded {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut v) = self.0.lock() {
            v.push(duration);
        }
        Box::pin(async {})
    }
}

impl Recorded {
    fn count(&self) -> usize {
        self.0.lock().map(|v| v.len()).unwrap_or(usize::MAX)
    }
}

/// A call that reached the server and died there is never retried, whatever the policy.
pub async fn no_retry_after_send(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let sleep = Recorded::default();
    let client = ctx
        .builder()
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(10)
                .with_sleep(sleep.clone()),
        )
        .build()?;
    for fault in [
        Fault::drop_after_handler(),
        Fault::drop_before_handler(),
        Fault::proxy_status(503),
    ] {
        mock.push_fault(fault.method(ADD));
        let error = client.add_passkey_link().await.err().context("succeeded")?;
        ensure!(error.is_outcome_unknown(), "{error:?}");
        ensure!(!error.is_not_sent(), "{error:?}");
    }
    ensure_eq!(sleep.count(), 0, "the client backed off to retry");
    ensure_eq!(
        ctx.journal(ADD)?.len(),
        3,
        "exactly one handled call per attempt"
    );
    ensure_eq!(
        mock.live_codes().len(),
        1,
        "only drop_after_handler made a code"
    );
    Ok(())
}

/// A sleep that starts the mock on the refused port at the first back-off.
#[derive(Debug, Clone)]
struct StartMockOnSleep {
    addr: SocketAddr,
    seed: u64,
    mock: Arc<tokio::sync::Mutex<Option<MockServer>>>,
    sleeps: Recorded,
}

impl Sleep for StartMockOnSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let this = self.clone();
        drop(this.sleeps.sleep(duration));
        Box::pin(async move {
            let mut mock = this.mock.lock().await;
            if mock.is_none() {
                *mock = ctx::standard_builder(this.seed)
                    .listen(this.addr)
                    .start()
                    .await
                    .ok();
            }
        })
    }
}

/// The first attempt finds the port closed (connection refused: provably not sent); the retry,
/// after the server came up, succeeds; the server saw exactly one call.
pub async fn retry_before_send(ctx: Ctx) -> Result<()> {
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = probe.local_addr()?;
    drop(probe);
    let sleep = StartMockOnSleep {
        addr,
        seed: ctx.seed,
        mock: Arc::default(),
        sleeps: Recorded::default(),
    };
    let client = ctx::builder(&format!("http://{addr}"), ctx.transport)
        .token(TOKEN_A)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_sleep(sleep.clone()),
        )
        .build()?;
    let link = client.add_passkey_link().await?;
    ensure_eq!(link.user_id(), USER_A);
    ensure_eq!(sleep.sleeps.count(), 1, "one back-off");
    let mock = sleep.mock.lock().await;
    let mock = mock
        .as_ref()
        .context("the mock did not start on the freed port")?;
    let journal = mock.journal();
    ensure_eq!(journal.len(), 1, "exactly one call reached the server");
    ensure_eq!(journal[0].code, Some(Code::Ok));

    // Without retries, the refused connection is an error that says it was not sent.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let closed_addr = closed.local_addr()?;
    drop(closed);
    let error = ctx::builder(&format!("http://{closed_addr}"), ctx.transport)
        .token(TOKEN_A)
        .retry_policy(RetryPolicy::none())
        .build()?
        .add_passkey_link()
        .await
        .err()
        .context("a closed port answered")?;
    ensure!(
        error.is_not_sent(),
        "connection refused is provably not sent: {error:?}"
    );
    ensure!(!error.is_outcome_unknown(), "{error:?}");
    ensure_eq!(error.code(), Code::Unavailable);
    Ok(())
}

/// Gives a stale token until asked to refresh.
#[derive(Debug)]
struct Refreshing {
    stale: String,
    fresh: String,
    refreshed: Mutex<bool>,
    asked: Mutex<Vec<bool>>,
}

impl TokenProvider for Refreshing {
    fn token(
        &self,
        refresh: bool,
    ) -> BoxFuture<'_, Result<Secret, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(refresh);
            }
            let mut refreshed = self.refreshed.lock().map_err(|_| "poisoned")?;
            if refresh {
                *refreshed = true;
            }
            Ok(Secret::new(if *refreshed {
                &self.fresh
            } else {
                &self.stale
            }))
        })
    }
}

/// UNAUTHENTICATED with a stale token: the provider is asked to refresh once, and the call is
/// made again with the new token; a provider that never gets a good token gives the error after
/// one refresh.
pub async fn token_refresh(ctx: Ctx) -> Result<()> {
    let provider = Arc::new(Refreshing {
        stale: TOKEN_UNKNOWN.to_owned(),
        fresh: ctx.token().to_owned(),
        refreshed: Mutex::new(false),
        asked: Mutex::new(Vec::new()),
    });
    let client = ctx::builder(&ctx.endpoint(), ctx.transport)
        .token_provider(provider.clone())
        .build()?;
    let link = client.add_passkey_link().await?;
    let asked = provider.asked.lock().map(|a| a.clone()).unwrap_or_default();
    ensure_eq!(asked, [false, true], "token(refresh) calls");
    client.add_passkey_link().await?;
    if !ctx.is_live() {
        ensure_eq!(link.user_id(), USER_A);
        let prints: Vec<(Option<String>, Option<Code>)> = ctx
            .journal(ADD)?
            .into_iter()
            .map(|e| (e.token_fingerprint, e.code))
            .collect();
        ensure_eq!(
            prints,
            [
                (
                    Some(token_fingerprint(TOKEN_UNKNOWN)),
                    Some(Code::Unauthenticated)
                ),
                (Some(token_fingerprint(TOKEN_A)), Some(Code::Ok)),
                (Some(token_fingerprint(TOKEN_A)), Some(Code::Ok)),
            ],
            "the calls the mock saw"
        );
    }

    let hopeless = Arc::new(Refreshing {
        stale: TOKEN_UNKNOWN.to_owned(),
        fresh: format!("{TOKEN_UNKNOWN}-still"),
        refreshed: Mutex::new(false),
        asked: Mutex::new(Vec::new()),
    });
    let client = ctx::builder(&ctx.endpoint(), ctx.transport)
        .token_provider(hopeless.clone())
        .build()?;
    let error = client
        .add_passkey_link()
        .await
        .err()
        .context("a bad token succeeded")?;
    ensure_eq!(
        error,
        Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e")
    );
    let asked = hopeless.asked.lock().map(|a| a.clone()).unwrap_or_default();
    ensure_eq!(asked, [false, true], "one refresh per call");
    Ok(())
}
