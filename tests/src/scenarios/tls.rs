//! TLS: one port, ALPN `h2` for gRPC and `http/1.1` for gRPC-web and REST, a private root.

use anyhow::{Context, Result, ensure};
use zitadel_passkey::{Code, Error};

use crate::ctx::{self, Ctx, TOKEN_UNKNOWN, USER_A};
use crate::ensure_eq;
use crate::scenarios::link::check_link;

/// A TLS mock with a self-signed certificate the client is told to trust: success and a §3
/// error over `https://`, each transport on its HTTP version; untrusted, the call fails before
/// anything is sent.
pub async fn https(ctx: Ctx) -> Result<()> {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    let mock = ctx::standard_builder(ctx.seed)
        .tls(cert.cert.pem(), cert.signing_key.serialize_pem())
        .start()
        .await?;
    let endpoint = mock.uri();
    ensure!(endpoint.starts_with("https://"), "{endpoint}");
    let der = cert.cert.der().to_vec();
    let client = ctx::builder(&endpoint, ctx.transport)
        .token(ctx::TOKEN_A)
        .add_root_certificate(der.clone())
        .build()?;
    let link = client.add_passkey_link().await?;
    // The link's origin is the one the request came in on: https.
    let tls_ctx = Ctx {
        target: ctx::Target::Mock(std::sync::Arc::new(mock)),
        ..ctx.clone()
    };
    check_link(&tls_ctx, &link)?;
    ensure_eq!(link.user_id(), USER_A);
    let mock = tls_ctx.mock()?;

    let bad = ctx::builder(&endpoint, ctx.transport)
        .token(TOKEN_UNKNOWN)
        .add_root_certificate(der)
        .build()?;
    let error = bad
        .add_passkey_link()
        .await
        .err()
        .context("an unknown token succeeded")?;
    ensure_eq!(
        error,
        Error::new(Code::Unauthenticated, "Errors.Token.Invalid").with_error_id("AUTH-7fs1e")
    );
    let journal = mock.journal();
    ensure_eq!(journal.len(), 2);
    for entry in &journal {
        ensure_eq!(
            entry.http_version,
            ctx::sdk_http_version(ctx.transport),
            "over TLS"
        );
        ensure_eq!(entry.transport.as_str(), ctx.transport.as_str());
    }

    let untrusted = ctx::builder(&endpoint, ctx.transport)
        .token(ctx::TOKEN_A)
        .build()?;
    let error = untrusted
        .add_passkey_link()
        .await
        .err()
        .context("a self-signed certificate was trusted")?;
    ensure!(
        !error.is_outcome_unknown(),
        "a failed handshake sent nothing: {error:?}"
    );
    ensure_eq!(
        mock.journal().len(),
        2,
        "the untrusted call reached the mock"
    );
    Ok(())
}
