//! The faults at scale: 100 SDK calls per fault and transport, each checked against the mock's
//! journal. The single-call rows (`faults.rs`, `resilience.rs`) show a rule once; these show
//! that it holds every time: no resend once the request may have reached the server, one
//! handled call per SDK call, and a deadline that fires on time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use futures::future::{BoxFuture, join_all};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zitadel_passkey::{CallOptions, Code, ErrorKind, RetryPolicy, Sleep};
use zitadel_passkey_mock::{Fault, JournalEntry, MockServer};

use crate::ctx::{self, Ctx};
use crate::ensure_eq;

const ADD: &str = "AddMyPasswordlessLink";
/// SDK calls per fault and transport.
const CALLS: u32 = 100;

/// A back-off that counts how often the client decided to resend, and runs a hook instead of
/// waiting.
#[derive(Debug, Clone, Default)]
struct Backoffs {
    count: Arc<AtomicUsize>,
    open: Option<Arc<Gate>>,
}

impl Sleep for Backoffs {
    fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let gate = self.open.clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                // A failure to bind shows up as the retry's own refusal.
                let _ = gate.open().await;
            }
        })
    }
}

impl Backoffs {
    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// A client that would resend up to 5 times, with `backoffs` in place of its sleep.
fn eager(ctx: &Ctx, endpoint: &str, backoffs: &Backoffs) -> Result<zitadel_passkey::Client> {
    Ok(ctx::builder(endpoint, ctx.transport)
        .token(ctx.token())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_sleep(backoffs.clone()),
        )
        .build()?)
}

fn count(journal: &[JournalEntry], fault: Option<&str>, code: Option<Code>) -> usize {
    journal
        .iter()
        .filter(|e| e.fault == fault && e.code == code)
        .count()
}

/// The handler runs, then the connection drops, 100 times: every SDK call reports an unknown
/// outcome and none is resent, so the journal holds exactly one handled call (and the mock one
/// code) per SDK call.
pub async fn drop_after(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let backoffs = Backoffs::default();
    let client = eager(&ctx, &ctx.endpoint(), &backoffs)?;
    mock.push_fault(Fault::drop_after_handler().method(ADD).times(CALLS));
    for call in 0..CALLS {
        let error = client
            .add_passkey_link()
            .await
            .err()
            .with_context(|| format!("call {call} succeeded"))?;
        ensure_eq!(
            error.kind(),
            ErrorKind::OutcomeUnknown,
            "call {call}: {error:?}"
        );
    }
    ensure_eq!(backoffs.count(), 0, "the client backed off to resend");
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), CALLS as usize, "journal entries");
    ensure_eq!(
        count(&journal, Some("drop_after_handler"), Some(Code::Ok)),
        CALLS as usize,
        "handled calls"
    );
    ensure_eq!(mock.live_codes().len(), CALLS as usize, "codes made");
    Ok(())
}

/// The connection drops before the handler, 100 times. The request had left, so the SDK cannot
/// tell this from a drop after the handler: an unknown outcome every time, never resent. The
/// app's next call on the same client goes out on a fresh connection and succeeds, so the
/// journal shows exactly one handled call per pair and no code from a dropped call.
pub async fn drop_before(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let backoffs = Backoffs::default();
    let client = eager(&ctx, &ctx.endpoint(), &backoffs)?;
    for call in 0..CALLS {
        mock.push_fault(Fault::drop_before_handler().method(ADD));
        let error = client
            .add_passkey_link()
            .await
            .err()
            .with_context(|| format!("call {call} succeeded through its fault"))?;
        ensure_eq!(
            error.kind(),
            ErrorKind::OutcomeUnknown,
            "call {call}: {error:?}"
        );
        client
            .add_passkey_link()
            .await
            .with_context(|| format!("the call after drop {call}"))?;
    }
    ensure_eq!(backoffs.count(), 0, "the client backed off to resend");
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), 2 * CALLS as usize, "journal entries");
    ensure_eq!(
        count(&journal, Some("drop_before_handler"), None),
        CALLS as usize,
        "dropped calls, none handled"
    );
    ensure_eq!(
        count(&journal, None, Some(Code::Ok)),
        CALLS as usize,
        "handled calls"
    );
    ensure_eq!(mock.live_codes().len(), CALLS as usize, "codes made");
    Ok(())
}

/// 100 calls whose first attempt finds the port closed (connection refused: provably not
/// sent). The SDK backs off once, the port opens during the back-off, and the resend succeeds:
/// one back-off and one handled call per SDK call.
pub async fn refused(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let gate = Gate::closed(mock.local_addr()).await?;
    let backoffs = Backoffs {
        count: Arc::default(),
        open: Some(gate.clone()),
    };
    for call in 0..CALLS {
        // A new client each time, so the first attempt needs a new connection.
        let client = eager(&ctx, &gate.uri(), &backoffs)?;
        client
            .add_passkey_link()
            .await
            .with_context(|| format!("call {call} after a refused connection"))?;
        ensure_eq!(
            backoffs.count(),
            call as usize + 1,
            "back-offs after call {call}"
        );
        gate.close().await;
    }
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), CALLS as usize, "journal entries");
    ensure_eq!(
        count(&journal, None, Some(Code::Ok)),
        CALLS as usize,
        "handled calls"
    );
    Ok(())
}

/// 100 concurrent calls to a server that stalls (a delay twice the deadline): each fails with
/// DEADLINE_EXCEEDED within 10% of its 1 s deadline, none is resent, and every one reached the
/// mock exactly once.
pub async fn stall(ctx: Ctx) -> Result<()> {
    const DEADLINE: Duration = Duration::from_secs(1);
    let mock = ctx.mock()?;
    let stall = 2 * DEADLINE;
    mock.push_fault(Fault::delay(stall).method(ADD).times(CALLS));
    let backoffs = Backoffs::default();
    let client = eager(&ctx, &ctx.endpoint(), &backoffs)?;
    let calls = (0..CALLS).map(|_| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let result = client
                .add_passkey_link_with(CallOptions::new().timeout(DEADLINE))
                .await;
            (started.elapsed(), result)
        }
    });
    let (low, high) = (DEADLINE.mul_f64(0.9), DEADLINE.mul_f64(1.1));
    let mut worst = Duration::ZERO;
    for (call, (elapsed, result)) in join_all(calls).await.into_iter().enumerate() {
        let error = result
            .err()
            .with_context(|| format!("call {call} outran its stall"))?;
        ensure_eq!(error.code(), Code::DeadlineExceeded, "call {call}: {error}");
        ensure!(
            (low..=high).contains(&elapsed),
            "call {call}: the 1 s deadline fired after {elapsed:?}"
        );
        worst = worst.max(elapsed.abs_diff(DEADLINE));
    }
    ensure_eq!(backoffs.count(), 0, "the client backed off to resend");
    ensure!(
        mock.pending_faults().is_empty(),
        "a stalled call never reached the mock"
    );
    // Each stalled call is journaled once its handler ends (the stall's end, or the server's
    // own deadline on gRPC).
    let journal = settled_journal(mock, CALLS as usize, stall + Duration::from_secs(3)).await;
    ensure_eq!(journal.len(), CALLS as usize, "one attempt per call");
    ensure!(
        journal.iter().all(|e| e.fault == Some("delay")),
        "a call was journaled without its fault"
    );
    // A figure for RELIABILITY.md on the run's progress output; the check is the bound above.
    eprintln!(
        "fault-x100/stall ({}): largest distance from the deadline {worst:?}",
        ctx.transport.as_str()
    );
    Ok(())
}

/// The journal once it holds `expected` entries, or as it is after `within`.
async fn settled_journal(
    mock: &MockServer,
    expected: usize,
    within: Duration,
) -> Vec<JournalEntry> {
    let until = Instant::now() + within;
    loop {
        let journal: Vec<JournalEntry> = mock
            .journal()
            .into_iter()
            .filter(|e| e.method == ADD)
            .collect();
        if journal.len() >= expected || Instant::now() >= until {
            return journal;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP front for the mock that refuses connections while closed (no listener on its port, so
/// a connect fails with ECONNREFUSED) and forwards each connection to the mock while open.
#[derive(Debug)]
struct Gate {
    addr: SocketAddr,
    upstream: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Gate {
    /// A gate on a free port, closed.
    async fn closed(upstream: SocketAddr) -> Result<Arc<Gate>> {
        let probe = TcpListener::bind("127.0.0.1:0").await?;
        let addr = probe.local_addr()?;
        drop(probe);
        Ok(Arc::new(Gate {
            addr,
            upstream,
            accept: Mutex::default(),
        }))
    }

    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Listens again on the gate's port (tokio sets SO_REUSEADDR, so the port can be rebound).
    async fn open(&self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.addr).await?;
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        if let Ok(mut accept) = self.accept.lock() {
            *accept = Some(task);
        }
        Ok(())
    }

    /// Stops listening; returns once the port is closed. Forwarded connections stay up.
    async fn close(&self) {
        let task = self.accept.lock().ok().and_then(|mut a| a.take());
        if let Some(task) = task {
            task.abort();
            // The listener is dropped with the task.
            let _ = task.await;
        }
    }
}
