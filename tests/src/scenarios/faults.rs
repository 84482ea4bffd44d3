//! Every scripted fault of the mock, mapped to the right SDK error, with no retry once the
//! request may have reached the server.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use zitadel_passkey::{Code, Error, ErrorKind, RetryPolicy, Transport};
use zitadel_passkey_mock::Fault;

use crate::ctx::Ctx;
use crate::ensure_eq;

const ADD: &str = "AddMyPasswordlessLink";

/// A client that would retry up to 5 times, to show that it does not.
fn eager(ctx: &Ctx) -> Result<zitadel_passkey::Client> {
    Ok(ctx
        .builder()
        .retry_policy(RetryPolicy::default().with_max_attempts(5))
        .build()?)
}

/// Error faults with every code 1..=16 (with and without an error id) come out as the same
/// `Error` on every transport, as known outcomes but for DEADLINE_EXCEEDED.
pub async fn error_codes(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let client = eager(&ctx)?;
    for code in 1..=16 {
        let id = format!("MOCK-f{code:02}");
        let message = format!("Errors.Contract.Fault{code}");
        mock.push_fault(
            Fault::error(Code::from_i32(code), id.clone(), message.clone()).method(ADD),
        );
        let error = client
            .add_passkey_link()
            .await
            .err()
            .context("a fault call succeeded")?;
        let expected = Error::new(Code::from_i32(code), &message).with_error_id(&id);
        ensure_eq!(error, expected, "fault code {code}");
        // gRPC defines DEADLINE_EXCEEDED as possibly sent after the work was done.
        ensure_eq!(
            error.is_outcome_unknown(),
            code == 4,
            "code {code}: only DEADLINE_EXCEEDED leaves the outcome unknown"
        );
        if ctx.transport == Transport::Json {
            ensure_eq!(
                error.http_status(),
                Some(Code::from_i32(code).http_status()),
                "code {code}"
            );
        }
    }
    mock.push_fault(Fault::error(Code::Unavailable, "", "upstream down").method(ADD));
    let error = client
        .add_passkey_link()
        .await
        .err()
        .context("a fault call succeeded")?;
    ensure_eq!(
        error,
        Error::new(Code::Unavailable, "upstream down"),
        "an error without details"
    );
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), 17, "one journal entry per call: no retries");
    for (entry, code) in journal.iter().zip(1..) {
        ensure_eq!(entry.fault, Some("error"));
        ensure_eq!(
            entry.code,
            Some(Code::from_i32(if code == 17 { 14 } else { code }))
        );
    }
    ensure!(mock.live_codes().is_empty(), "a failed call created a code");
    // The fault is used up: the next call succeeds.
    client.add_passkey_link().await?;
    Ok(())
}

/// A delay shorter than the deadline: the call succeeds after it.
pub async fn delay(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    mock.push_fault(Fault::delay(Duration::from_millis(300)).method(ADD));
    let started = tokio::time::Instant::now();
    let link = ctx.client()?.add_passkey_link().await?;
    ensure!(
        started.elapsed() >= Duration::from_millis(300),
        "the delay did not apply"
    );
    ensure_eq!(link.user_id(), crate::ctx::USER_A);
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), 1);
    ensure_eq!(journal[0].fault, Some("delay"));
    ensure_eq!(journal[0].code, Some(Code::Ok));
    Ok(())
}

/// The connection closes before the handler: the SDK cannot know that, so the outcome is
/// unknown (UNAVAILABLE) and the call is not retried; no code was made.
pub async fn drop_before(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    mock.push_fault(Fault::drop_before_handler().method(ADD));
    let error = eager(&ctx)?
        .add_passkey_link()
        .await
        .err()
        .context("succeeded")?;
    ensure_eq!(error.code(), Code::Unavailable, "{error}");
    ensure!(
        error.is_outcome_unknown(),
        "a request sent then cut is an unknown outcome: {error:?}"
    );
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), 1, "no retry after send");
    ensure_eq!(journal[0].fault, Some("drop_before_handler"));
    ensure_eq!(journal[0].code, None);
    ensure!(mock.live_codes().is_empty(), "no code was made");
    Ok(())
}

/// The handler runs (a code is made), then the connection closes: outcome unknown, no retry,
/// exactly one code left behind.
pub async fn drop_after(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    mock.push_fault(Fault::drop_after_handler().method(ADD));
    let error = eager(&ctx)?
        .add_passkey_link()
        .await
        .err()
        .context("succeeded")?;
    ensure_eq!(error.code(), Code::Unavailable, "{error}");
    ensure!(error.is_outcome_unknown(), "{error:?}");
    ensure_eq!(ctx.journal(ADD)?.len(), 1, "no retry after send");
    ensure_eq!(
        mock.live_codes().len(),
        1,
        "the handler made exactly one code"
    );
    Ok(())
}

/// A proxy in front answers 502, 503 or 504 without a gRPC status: UNAVAILABLE on every
/// transport (gRPC's HTTP-to-status table), outcome unknown (the proxy may have forwarded the
/// call), not retried.
pub async fn proxy_status(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let client = eager(&ctx)?;
    for status in [502u16, 503, 504] {
        mock.push_fault(Fault::proxy_status(status).method(ADD));
        let error = client.add_passkey_link().await.err().context("succeeded")?;
        let code = Code::Unavailable;
        ensure_eq!(
            error.kind(),
            ErrorKind::OutcomeUnknown,
            "HTTP {status}: {error:?}"
        );
        ensure_eq!(error.code(), code, "HTTP {status}: {error}");
        ensure!(error.is_outcome_unknown(), "HTTP {status}: {error:?}");
        ensure_eq!(error.http_status(), Some(status), "HTTP {status}");
    }
    ensure_eq!(ctx.journal(ADD)?.len(), 3, "no retries");
    Ok(())
}
