//! Rows for HTTP versions and the independent peers.

use anyhow::Result;

use crate::ctx::{self, Ctx, ORG_A, USER_A, missing_tool};
use crate::ensure_eq;
use crate::peers::{curl, grpc_web, python};
use crate::wire::Version;

/// The SDK's transport uses its HTTP version (gRPC: HTTP/2; gRPC-web and REST: HTTP/1.1), as
/// the mock saw it.
pub async fn sdk_http_version(ctx: Ctx) -> Result<()> {
    ctx.client()?.add_passkey_link().await?;
    ctx.client()?.list_passkeys().await?;
    for entry in ctx.mock()?.journal() {
        ensure_eq!(
            entry.http_version,
            ctx::sdk_http_version(ctx.transport),
            "{}",
            entry.method
        );
        ensure_eq!(entry.transport.as_str(), ctx.transport.as_str());
    }
    Ok(())
}

fn addr(ctx: &Ctx) -> Result<String> {
    Ok(ctx.mock()?.local_addr().to_string())
}

/// Python grpcio: add, errors with details, list, remove, send.
pub async fn python(ctx: Ctx) -> Result<()> {
    if let Err(reason) = python::available().await {
        return missing_tool(reason);
    }
    ctx.mock()?.add_passkey(USER_A, "python key");
    python::check(&addr(&ctx)?, ctx.token(), USER_A, ORG_A).await?;
    journal_versions(&ctx, "grpc", "HTTP/2")
}

/// Hand-made gRPC-web frames over HTTP/1.1.
pub async fn grpc_web_http1(ctx: Ctx) -> Result<()> {
    grpc_web::check(&addr(&ctx)?, Version::Http1, ctx.token()).await?;
    journal_versions(&ctx, "grpc-web", "HTTP/1.1")
}

/// curl over HTTP/1.1.
pub async fn curl_http1(ctx: Ctx) -> Result<()> {
    if let Err(reason) = curl::available().await {
        return missing_tool(reason);
    }
    curl::check(
        &ctx.endpoint(),
        Version::Http1,
        ctx.token(),
        Some((ctx.mock()?, USER_A)),
    )
    .await?;
    journal_versions(&ctx, "json", "HTTP/1.1")
}

/// HTTP/2 cleartext (prior knowledge) for the content types the SDK sends over HTTP/1.1:
/// gRPC-web frames by hand, REST by curl.
pub async fn http2(ctx: Ctx) -> Result<()> {
    match ctx.transport {
        zitadel_passkey::Transport::GrpcWeb => {
            grpc_web::check(&addr(&ctx)?, Version::Http2, ctx.token()).await?;
            journal_versions(&ctx, "grpc-web", "HTTP/2")
        }
        _ => {
            if let Err(reason) = curl::available().await {
                return missing_tool(reason);
            }
            curl::check(
                &ctx.endpoint(),
                Version::Http2,
                ctx.token(),
                Some((ctx.mock()?, USER_A)),
            )
            .await?;
            journal_versions(&ctx, "json", "HTTP/2")
        }
    }
}

/// Every journaled call came over this transport and HTTP version.
fn journal_versions(ctx: &Ctx, transport: &str, version: &str) -> Result<()> {
    let journal = ctx.mock()?.journal();
    anyhow::ensure!(!journal.is_empty(), "the mock saw no call");
    for entry in journal {
        ensure_eq!(entry.transport.as_str(), transport, "{}", entry.method);
        ensure_eq!(entry.http_version, version, "{}", entry.method);
    }
    Ok(())
}
