//! The secrets sweep: 10,000 calls over the three transports, failures mixed in, every crate
//! logging at TRACE (the SDK's, the mock's, hyper's, h2's, tonic's). Neither the
//! canary tokens nor any one-time code the mock made may appear in the logs, in any `Display`
//! or `Debug` form of a link, an error or a client, in the mock's journal or admin views (but
//! `/__mock/codes`, which exists to show them), or in the mock's `Debug`. A device sign-in with
//! refreshes and a revocation runs in the same sweep: no access or refresh token the mock issued
//! (all start with `mock_at_` or `mock_rt_`) may appear either, nor the sign-in's user code.
//!
//! Its own test binary, because it installs the process-wide subscriber.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use futures::StreamExt;
use tracing_subscriber::util::SubscriberInitExt as _;
use zitadel_passkey::{CallOptions, Client, Code, DeviceAuthorization, RetryPolicy, Transport};
use zitadel_passkey_mock::{Fault, MockServer};

/// The token of the one user, alphanumeric so that it is one word in any log line.
const CANARY: &str = "CanaryTokenQ7w2ZrX9";
/// A token the strict mock does not know: its calls fail UNAUTHENTICATED.
const CANARY_UNKNOWN: &str = "CanaryUnknownK4p8Vt";
const CALLS: usize = 10_000;
/// Calls in flight at once.
const IN_FLIGHT: usize = 16;
/// Length of the mock's one-time codes (server-mock's `CODE_LENGTH`).
const CODE_LENGTH: usize = 12;
const TRANSPORTS: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Json];

/// Everything written to the log, kept as what the sweep looks for: how often each canary
/// appeared, and every run of `CODE_LENGTH` letters and digits (a code anywhere in a line is
/// one of them). Scanned as written, so the logs of 10,000 calls at TRACE are never held.
#[derive(Clone, Default)]
struct Sweep(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    canaries: usize,
    /// Access and refresh tokens the mock issued, by their prefixes.
    issued_tokens: usize,
    /// Every word shaped like a user code (`ABCD-EFGH`).
    user_code_like: HashSet<String>,
    windows: HashSet<String>,
    bytes: usize,
    /// Which of `SOURCES` wrote at least one line.
    sources: HashSet<&'static str>,
}

/// Log targets the sweep must have heard from, or it proves nothing about them.
const SOURCES: [&str; 4] = ["zitadel_passkey::", "zitadel_passkey_mock", "h2::", "hyper"];
/// A code-shaped word logged before the calls: the sweep must find it.
const PROBE: &str = "ProbeCode123";
/// A user-code-shaped word logged before the calls: the sweep must find it too.
const USER_CODE_PROBE: &str = "PRBX-QZWV";

impl Seen {
    fn scan(&mut self, text: &str) {
        self.bytes += text.len();
        for source in SOURCES {
            if text.contains(source) {
                self.sources.insert(source);
            }
        }
        self.canaries += text.matches(CANARY).count() + text.matches(CANARY_UNKNOWN).count();
        self.issued_tokens += text.matches("mock_at_").count() + text.matches("mock_rt_").count();
        for window in text.as_bytes().windows(9) {
            let (head, tail) = (&window[..4], &window[5..]);
            if window[4] == b'-' && head.iter().chain(tail).all(u8::is_ascii_uppercase) {
                self.user_code_like
                    .insert(String::from_utf8_lossy(window).into_owned());
            }
        }
        for run in text.split(|c: char| !c.is_ascii_alphanumeric()) {
            if run.len() >= CODE_LENGTH {
                for start in 0..=run.len() - CODE_LENGTH {
                    self.windows
                        .insert(run[start..start + CODE_LENGTH].to_owned());
                }
            }
        }
    }
}

impl Write for Sweep {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut seen) = self.0.lock() {
            seen.scan(&String::from_utf8_lossy(buf));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_token_or_code_in_logs_strings_journal_or_admin_views() -> Result<()> {
    let logs = Sweep::default();
    let writer = logs.clone();
    // `try_init` also routes the `log` crate's records into the subscriber.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish()
        .try_init()?;
    // Formatted values of the SDK and the mock: links, errors, clients, the mock.
    let strings = Sweep::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tracing::trace!(
        probe = PROBE,
        user_code = USER_CODE_PROBE,
        "the sweep's own probe"
    );
    let (failures, views) = runtime.block_on(calls(strings.clone()))?;
    {
        let seen = logs.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        ensure!(seen.windows.contains(PROBE), "the sweep missed its probe");
        ensure!(
            seen.user_code_like.contains(USER_CODE_PROBE),
            "the sweep missed its user-code probe"
        );
        for source in SOURCES {
            ensure!(seen.sources.contains(source), "no TRACE line from {source}");
        }
    }

    let mock_codes = views.codes;
    ensure!(
        mock_codes.len() > CALLS / 2,
        "only {} codes were made: the sweep did not exercise the success path",
        mock_codes.len()
    );
    ensure!(
        failures > CALLS / 20,
        "only {failures} calls failed: the sweep did not exercise the failure paths"
    );
    for (what, sweep) in [("logs", &logs), ("Display/Debug strings", &strings)] {
        let seen = sweep.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        ensure!(seen.bytes > 0, "nothing was written to the {what}");
        ensure!(
            seen.canaries == 0,
            "a canary token appeared {} times in the {what}",
            seen.canaries
        );
        ensure!(
            seen.issued_tokens == 0,
            "an issued access or refresh token appeared {} times in the {what}",
            seen.issued_tokens
        );
        for user_code in &views.user_codes {
            ensure!(
                !seen.user_code_like.contains(user_code),
                "the user code appeared in the {what}"
            );
        }
        let leaked = mock_codes
            .iter()
            .filter(|c| seen.windows.contains(*c))
            .count();
        ensure!(
            leaked == 0,
            "{leaked} one-time codes appeared in the {what}"
        );
        eprintln!(
            "secrets sweep: {} bytes of {what}, 0 tokens, 0 codes",
            seen.bytes
        );
    }
    let mut admin = Seen::default();
    for view in &views.admin {
        admin.scan(view);
    }
    ensure!(admin.canaries == 0, "a canary token in the admin views");
    ensure!(
        admin.issued_tokens == 0,
        "an issued token in the journal or admin views"
    );
    let leaked = mock_codes
        .iter()
        .filter(|c| admin.windows.contains(*c))
        .count();
    ensure!(
        leaked == 0,
        "{leaked} one-time codes in the journal or admin views"
    );
    eprintln!(
        "secrets sweep: {CALLS} calls ({failures} failed), {} codes made, {} bytes of journal and admin views",
        mock_codes.len(),
        admin.bytes
    );
    Ok(())
}

/// What the mock shows after the calls.
struct Views {
    /// Every live code (`/__mock/codes`).
    codes: Vec<String>,
    /// The journal and every other admin view, and the mock's `Debug`.
    admin: Vec<String>,
    /// The user codes of the device sign-ins.
    user_codes: Vec<String>,
}

/// The calls, each one's result formatted into `strings`; returns how many failed.
async fn calls(strings: Sweep) -> Result<(usize, Views)> {
    let mock = MockServer::builder()
        .strict(true)
        .user(CANARY, "218000000000000001", "318000000000000001")
        .client_id("sweep-app")
        .device_interval(Duration::from_secs(1))
        .start()
        .await?;
    let clients = TRANSPORTS
        .iter()
        .map(|&transport| {
            let build = |token: &str| {
                Client::builder(mock.uri())
                    .transport(transport)
                    .token(token)
                    .timeout(Duration::from_secs(10))
                    .retry_policy(RetryPolicy::none())
                    .build()
            };
            Ok((build(CANARY)?, build(CANARY_UNKNOWN)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let failures = AtomicUsize::new(0);
    let (mock_ref, clients_ref, failures_ref) = (&mock, &clients, &failures);
    futures::stream::iter(0..CALLS)
        .for_each_concurrent(IN_FLIGHT, |call| {
            let mut strings = strings.clone();
            async move {
                let (client, unknown) = &clients_ref[call % TRANSPORTS.len()];
                let mut options = CallOptions::new();
                // A failure every tenth call, of five kinds in turn.
                let client = match call % 50 {
                    5 => {
                        let error = Fault::error(Code::Internal, "MOCK-sweep", "Errors.Internal");
                        mock_ref.push_fault(error.method("AddMyPasswordlessLink"));
                        client
                    }
                    15 => {
                        mock_ref.push_fault(
                            Fault::drop_after_handler().method("AddMyPasswordlessLink"),
                        );
                        client
                    }
                    25 => {
                        mock_ref
                            .push_fault(Fault::proxy_status(503).method("AddMyPasswordlessLink"));
                        client
                    }
                    35 => {
                        let stall = Fault::delay(Duration::from_millis(400));
                        mock_ref.push_fault(stall.method("AddMyPasswordlessLink"));
                        options = options.timeout(Duration::from_millis(100));
                        client
                    }
                    45 => unknown,
                    _ => client,
                };
                // Faults are taken by whichever call comes next, so which call fails varies;
                // the count of failures is what the sweep checks.
                let text = match client.add_passkey_link_with(options).await {
                    Ok(link) => format!(
                        "{link} {link:?} {} {:?} {:?}",
                        link.redacted_url(),
                        link.details(),
                        link.expires_at()
                    ),
                    Err(error) => {
                        failures_ref.fetch_add(1, Ordering::Relaxed);
                        format!("{error} {error:?} {:?}", std::error::Error::source(&error))
                    }
                };
                let _ = writeln!(strings, "{text} {client:?}");
            }
        })
        .await;
    let failures = failures.load(Ordering::Relaxed);
    // Before the sign-in, whose clock jumps expire the codes.
    let mut codes: Vec<String> = mock.live_codes().into_iter().map(|c| c.code).collect();
    let (user_code, link_codes) = sign_in(&mock, strings.clone()).await?;
    codes.extend(link_codes);
    let user_codes = vec![user_code];
    let mut views = vec![format!("{mock:?}")];
    for path in ["journal", "users", "outbox", "faults", "health"] {
        let reply = zitadel_passkey_test_support::get(&format!("{}/__mock/{path}", mock.uri()))
            .await
            .map_err(|e| anyhow::anyhow!("/__mock/{path}: {e:?}"))?;
        ensure!(
            reply.status.is_success(),
            "/__mock/{path}: {}",
            reply.status
        );
        views.push(String::from_utf8_lossy(&reply.body).into_owned());
    }
    views.push(format!("{:?}", mock.journal()));
    Ok((
        failures,
        Views {
            codes,
            admin: views,
            user_codes,
        },
    ))
}

/// A device sign-in approved through the admin API, calls with its token on every transport, a
/// refresh after the token expired on the mock's clock, and a revocation, each result formatted
/// into `strings`; returns the user code and the one-time codes of the links.
async fn sign_in(mock: &MockServer, mut strings: Sweep) -> Result<(String, Vec<String>)> {
    let flow = DeviceAuthorization::builder(mock.uri(), "sweep-app").build()?;
    let pending = flow.start().await?;
    let user_code = pending.user_code().to_owned();
    mock.approve_device(&user_code, None)
        .map_err(|e| anyhow::anyhow!("approve: {e:?}"))?;
    let tokens = pending.wait().await?;
    let _ = writeln!(strings, "{flow:?} {pending:?} {tokens:?}");
    let provider = std::sync::Arc::new(flow.token_provider(tokens.clone()));
    let mut link_codes = Vec::new();
    for transport in TRANSPORTS {
        let client = Client::builder(mock.uri())
            .transport(transport)
            .token_provider(provider.clone())
            .build()?;
        let link = client.add_passkey_link().await?;
        let url = url::Url::parse(link.url())?;
        link_codes.extend(
            url.query_pairs()
                .filter(|(key, _)| key == "code")
                .map(|(_, code)| code.into_owned()),
        );
        // The second call of each transport finds the token expired: refused, refreshed, retried.
        mock.advance_clock(Duration::from_secs(13 * 3600));
        let passkeys = client.list_passkeys().await?;
        let _ = writeln!(strings, "{link:?} {passkeys:?} {client:?} {provider:?}");
    }
    let latest = provider.tokens();
    ensure!(
        latest.access_token() != tokens.access_token(),
        "the sweep's sign-in was never refreshed"
    );
    let refresh = latest
        .refresh_token()
        .ok_or_else(|| anyhow::anyhow!("no refresh token"))?;
    flow.revoke(refresh).await?;
    let after = Client::builder(mock.uri())
        .token(latest.access_token().expose())
        .build()?
        .list_passkeys()
        .await;
    match after {
        Err(error) => {
            let _ = writeln!(strings, "{error} {error:?}");
        }
        Ok(_) => anyhow::bail!("a revoked sign-in still worked"),
    }
    ensure!(
        link_codes.len() == TRANSPORTS.len(),
        "a link without a code"
    );
    Ok((user_code, link_codes))
}
