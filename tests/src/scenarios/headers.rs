//! Request headers (`x-zitadel-orgid`, `accept-language`) and lenient decoding (unknown fields,
//! base64 with or without padding).

use anyhow::{Context, Result, ensure};
use zitadel_passkey::{CallOptions, Code, Error};

use crate::ctx::{self, Ctx, ORG_A, ORG_B, TOKEN_UNKNOWN, USER_A};
use crate::ensure_eq;
use crate::scenarios::errors::expect_error;
use crate::scenarios::link::check_link;
use crate::tap::{Rewrite, Tap};

const ADD: &str = "AddMyPasswordlessLink";

/// `x-zitadel-orgid` naming an existing organisation is accepted and does not change the link's
/// orgID; set per client or per call.
pub async fn org_id(ctx: Ctx) -> Result<()> {
    let plain = ctx.client()?.add_passkey_link().await?;
    let own_org = plain.org_id().to_owned();
    // On the mock, org B exists (user B's) but is not user A's.
    let other_org = if ctx.is_live() {
        own_org.clone()
    } else {
        ORG_B.to_owned()
    };
    let per_client = ctx
        .builder()
        .org_id(&other_org)
        .build()?
        .add_passkey_link()
        .await?;
    let per_call = ctx
        .client()?
        .add_passkey_link_with(CallOptions::new().org_id(&own_org))
        .await?;
    for link in [&per_client, &per_call] {
        check_link(&ctx, link)?;
        ensure_eq!(
            link.org_id(),
            own_org,
            "the header does not change the link's orgID"
        );
        ensure_eq!(link.details().resource_owner, own_org);
    }
    if !ctx.is_live() {
        ensure_eq!(own_org, ORG_A);
        let orgs: Vec<Option<String>> = ctx.journal(ADD)?.into_iter().map(|e| e.org_id).collect();
        ensure_eq!(
            orgs,
            [None, Some(ORG_B.to_owned()), Some(ORG_A.to_owned())],
            "journaled x-zitadel-orgid"
        );
    }
    Ok(())
}

/// `accept-language` reaches the server (seen by a tap) per client and per call; ZITADEL leaves
/// `Errors.Token.Invalid` untranslated, so errors are equal in any language.
pub async fn accept_language(ctx: Ctx) -> Result<()> {
    let tap = Tap::start(&ctx.endpoint(), Rewrite::None).await?;
    let client = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .accept_language("de-CH")
        .build()?;
    let link = client.add_passkey_link().await?;
    ensure_eq!(link.user_id(), USER_A);
    client
        .add_passkey_link_with(CallOptions::new().accept_language("fr"))
        .await?;
    let bad = ctx::builder(&tap.uri(), ctx.transport)
        .token(TOKEN_UNKNOWN)
        .accept_language("de")
        .build()?;
    let expected =
        Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e");
    expect_error(
        &ctx,
        bad.add_passkey_link().await,
        &expected,
        &[TOKEN_UNKNOWN],
    )?;
    let seen: Vec<Option<String>> = tap
        .requests()
        .iter()
        .map(|h| {
            h.get("accept-language")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    ensure_eq!(
        seen,
        [
            Some("de-CH".to_owned()),
            Some("fr".to_owned()),
            Some("de".to_owned())
        ],
        "accept-language as the server saw it"
    );
    Ok(())
}

/// Answers with unknown fields (protobuf field 99, extra JSON keys, also in errors) decode.
pub async fn unknown_fields(ctx: Ctx) -> Result<()> {
    let tap = Tap::start(&ctx.endpoint(), Rewrite::UnknownFields).await?;
    let client = ctx::builder(&tap.uri(), ctx.transport)
        .token(ctx.token())
        .build()?;
    let link = client.add_passkey_link().await?;
    ensure_eq!(link.user_id(), USER_A);
    ensure_eq!(link.details().resource_owner, ORG_A);
    client.list_passkeys().await?;
    client.send_passkey_link().await?;
    let bad = ctx::builder(&tap.uri(), ctx.transport)
        .token(TOKEN_UNKNOWN)
        .build()?;
    let error = bad
        .add_passkey_link()
        .await
        .err()
        .context("an unknown token succeeded")?;
    ensure_eq!(
        error,
        Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e"),
        "an error with unknown fields"
    );
    ensure!(
        tap.rewrites() >= 4,
        "the tap added unknown fields to {} answers only",
        tap.rewrites()
    );
    Ok(())
}

async fn base64_padding(ctx: Ctx, rewrite: Rewrite) -> Result<()> {
    let tap = Tap::start(&ctx.endpoint(), rewrite).await?;
    for (token, expected) in [
        (
            TOKEN_UNKNOWN,
            Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e"),
        ),
        (
            ctx::TOKEN_NO_USER,
            Error::new(Code::FailedPrecondition, "Errors.IDMissing").with_error_id("COMMAND-GVfg3"),
        ),
    ] {
        let client = ctx::builder(&tap.uri(), ctx.transport)
            .token(token)
            .build()?;
        let error = client
            .add_passkey_link()
            .await
            .err()
            .context("the call succeeded")?;
        ensure_eq!(
            error,
            expected,
            "the error through {rewrite:?} grpc-status-details-bin"
        );
    }
    ensure!(
        tap.rewrites() >= 2,
        "the tap re-encoded {} answers only",
        tap.rewrites()
    );
    Ok(())
}

/// `grpc-status-details-bin` without `=` padding (valid for binary metadata) still gives the id.
pub async fn unpadded_base64(ctx: Ctx) -> Result<()> {
    base64_padding(ctx, Rewrite::Base64Unpadded).await
}

/// `grpc-status-details-bin` with `=` padding still gives the id.
pub async fn padded_base64(ctx: Ctx) -> Result<()> {
    base64_padding(ctx, Rewrite::Base64Padded).await
}
