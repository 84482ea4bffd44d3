//! Every error of docs/wire-contract.md §3, equal on every transport (each cell compares with the same
//! expected `Error`, whose `==` ignores the transport).

use anyhow::{Context, Result, ensure};
use zitadel_passkey::{CallOptions, Code, Error, PasskeyLink, Transport};

use crate::ctx::{self, Ctx, ORG_UNKNOWN, TOKEN_NO_USER, TOKEN_UNKNOWN};
use crate::ensure_eq;
use crate::tap::{Rewrite, Tap};

const ADD: &str = "AddMyPasswordlessLink";

/// Checks a failed call against the expected error, and what the mock journaled.
pub fn expect_error<T: std::fmt::Debug>(
    ctx: &Ctx,
    result: Result<T, Error>,
    expected: &Error,
    secrets: &[&str],
) -> Result<Error> {
    let error = match result {
        Ok(value) => anyhow::bail!("expected {expected}, got success: {value:?}"),
        Err(error) => error,
    };
    ensure_eq!(error, *expected, "the SDK error");
    ensure!(
        !error.is_outcome_unknown(),
        "a status answer is a known outcome: {error:?}"
    );
    ensure_eq!(
        error.transport(),
        Some(ctx.transport),
        "the error's transport"
    );
    if ctx.transport == Transport::Json {
        ensure_eq!(
            error.http_status(),
            Some(expected.code().http_status()),
            "the HTTP status"
        );
    }
    let shown = format!("{error} {error:?}");
    for secret in secrets {
        ensure!(!shown.contains(secret), "a token leaks into the error");
    }
    if !ctx.is_live() {
        let journal = ctx.mock()?.journal();
        let last = journal.last().context("the mock saw no call")?;
        ensure_eq!(last.code, Some(expected.code()), "the journaled code");
        ensure_eq!(
            last.error_id.as_deref(),
            expected.error_id(),
            "the journaled error id"
        );
    }
    Ok(error)
}

/// A failed call made no code (on the mock; its scenarios start with none).
fn no_codes(ctx: &Ctx) -> Result<()> {
    if !ctx.is_live() {
        ensure!(
            ctx.mock()?.live_codes().is_empty(),
            "a failed call left a code behind"
        );
    }
    Ok(())
}

/// No `authorization` header: 16, no details, `auth header missing`.
pub async fn header_missing(ctx: Ctx) -> Result<()> {
    let client = ctx::builder(&ctx.endpoint(), ctx.transport).build()?;
    let expected = Error::new(Code::Unauthenticated, "auth header missing");
    let error = expect_error(&ctx, client.add_passkey_link().await, &expected, &[])?;
    ensure_eq!(error.error_id(), None, "no details at all");
    no_codes(&ctx)?;
    Ok(())
}

/// `authorization` not `Bearer <token>`: 16 `AUTH-7fs1e`. The SDK always writes `Bearer `, so
/// a tap in front of the mock rewrites the scheme to `Basic`.
pub async fn invalid_header(ctx: Ctx) -> Result<()> {
    let tap = Tap::start(&ctx.endpoint(), Rewrite::AuthScheme).await?;
    let client = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .build()?;
    let expected =
        Error::new(Code::Unauthenticated, "invalid auth header").with_error_id("AUTH-7fs1e");
    expect_error(
        &ctx,
        client.add_passkey_link().await,
        &expected,
        &[ctx.token()],
    )?;
    ensure!(
        tap.requests().iter().all(|h| h
            .get("authorization")
            .is_some_and(|v| v.as_bytes().starts_with(b"Bearer "))),
        "the SDK did not send `Bearer <token>`"
    );
    no_codes(&ctx)?;
    Ok(())
}

/// An unknown token: 16 `AUTH-7fs1e` `Errors.Token.Invalid`, untranslated.
pub async fn token_invalid(ctx: Ctx) -> Result<()> {
    let client = ctx.client_with_token(TOKEN_UNKNOWN)?;
    let expected =
        Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e");
    let error = expect_error(
        &ctx,
        client.add_passkey_link().await,
        &expected,
        &[TOKEN_UNKNOWN],
    )?;
    ensure_eq!(
        error.to_string(),
        "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
    );
    no_codes(&ctx)?;
    Ok(())
}

/// `x-zitadel-orgid` naming no organisation: 7 `AUTH-Bs7Ds`.
pub async fn org_not_found(ctx: Ctx) -> Result<()> {
    let client = ctx.client()?;
    let expected = Error::new(Code::PermissionDenied, "Organisation doesn't exist")
        .with_error_id("AUTH-Bs7Ds");
    let result = client
        .add_passkey_link_with(CallOptions::new().org_id(ORG_UNKNOWN))
        .await;
    expect_error(&ctx, result, &expected, &[ctx.token()])?;
    if !ctx.is_live() {
        let journal = ctx.journal(ADD)?;
        ensure_eq!(
            journal[0].org_id.as_deref(),
            Some(ORG_UNKNOWN),
            "the journaled org"
        );
    }
    no_codes(&ctx)?;
    Ok(())
}

/// A token without a user: 9 `COMMAND-GVfg3` `Errors.IDMissing`.
pub async fn user_id_missing(ctx: Ctx) -> Result<()> {
    let client = ctx.client_with_token(TOKEN_NO_USER)?;
    let expected =
        Error::new(Code::FailedPrecondition, "Errors.IDMissing").with_error_id("COMMAND-GVfg3");
    expect_error::<PasskeyLink>(
        &ctx,
        client.add_passkey_link().await,
        &expected,
        &[TOKEN_NO_USER],
    )?;
    no_codes(&ctx)?;
    Ok(())
}

/// RemoveMyPasswordless of an unknown ID: the mock's NOT_FOUND, the same on every transport.
pub async fn remove_unknown(ctx: Ctx) -> Result<()> {
    let client = ctx.client()?;
    let expected =
        Error::new(Code::NotFound, "Errors.User.WebAuthN.NotFound").with_error_id("MOCK-tkn02");
    expect_error(
        &ctx,
        client.remove_passkey("123456789012345678").await,
        &expected,
        &[],
    )?;
    Ok(())
}

/// RemoveMyPasswordless with an empty ID gives the same error on this transport as on gRPC.
pub async fn remove_empty_id(ctx: Ctx) -> Result<()> {
    let here = ctx
        .client()?
        .remove_passkey("")
        .await
        .err()
        .context("an empty ID was removed")?;
    let grpc = ctx::builder(&ctx.endpoint(), Transport::Grpc)
        .token(ctx.token())
        .build()?
        .remove_passkey("")
        .await
        .err()
        .context("an empty ID was removed over gRPC")?;
    ensure_eq!(
        here,
        grpc,
        "the error for an empty ID over {} and over grpc",
        ctx.transport
    );
    ensure_eq!(
        here.code(),
        Code::InvalidArgument,
        "the code for an empty ID"
    );
    ensure_eq!(
        here.is_not_sent(),
        true,
        "an empty ID is refused before sending"
    );
    Ok(())
}
