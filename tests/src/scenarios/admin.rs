//! The mock's admin API over HTTP (what CI and other languages use): users, faults filtered by
//! transport, the journal, codes, the clock and reset.

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use http::Request;
use serde_json::{Value, json};
use zitadel_passkey::{Code, Error, Transport};

use crate::ctx::{self, Ctx, ORG_A};
use crate::ensure_eq;
use zitadel_passkey_test_support::{Reply, get, send_request};

use crate::wire::Version;

const TOKEN: &str = "contract-admin-api-token";
const USER: &str = "218000000000000055";

async fn admin(ctx: &Ctx, method: &str, path: &str, body: Option<Value>) -> Result<Reply> {
    let addr = ctx.mock()?.local_addr().to_string();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/__mock{path}"))
        .header("host", addr.as_str());
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Bytes::from(serde_json::to_vec(&body)?)
        }
        None => Bytes::new(),
    };
    Ok(send_request(&addr, Version::Http1.http(), request.body(body)?).await?)
}

/// Users, faults, journal, codes, clock and reset through `/__mock`.
pub async fn http_api(ctx: Ctx) -> Result<()> {
    let health = admin(&ctx, "GET", "/health", None).await?;
    ensure_eq!(health.try_json()?["status"], "ok");
    let added = admin(
        &ctx,
        "POST",
        "/users",
        Some(json!({"token": TOKEN, "user_id": USER, "org_id": ORG_A})),
    )
    .await?;
    ensure_eq!(
        added.status.as_u16(),
        201,
        "adding a user: {:?}",
        added.body
    );
    let client = ctx.client_with_token(TOKEN)?;
    let link = client.add_passkey_link().await?;
    ensure_eq!(link.user_id(), USER);

    let here = ctx.transport.as_str();
    let other = if ctx.transport == Transport::Json {
        "grpc"
    } else {
        "json"
    };
    for (transport, id) in [(other, "MOCK-other"), (here, "MOCK-here")] {
        let fault = json!({"kind": "error", "code": 14, "id": id, "message": "Errors.Admin",
            "method": "AddMyPasswordlessLink", "transport": transport});
        let pushed = admin(&ctx, "POST", "/faults", Some(fault)).await?;
        ensure_eq!(
            pushed.status.as_u16(),
            201,
            "pushing a fault: {:?}",
            pushed.body
        );
    }
    let error = client
        .add_passkey_link()
        .await
        .err()
        .context("the fault did not apply")?;
    ensure_eq!(
        error,
        Error::new(Code::Unavailable, "Errors.Admin").with_error_id("MOCK-here")
    );
    let pending = admin(&ctx, "GET", "/faults", None).await?.try_json()?;
    ensure_eq!(
        pending.as_array().map(Vec::len),
        Some(1),
        "the other transport's fault is pending: {pending}"
    );
    let second = client.add_passkey_link().await?;

    let journal = admin(&ctx, "GET", "/journal", None).await?;
    ensure!(
        !String::from_utf8_lossy(&journal.body).contains(TOKEN),
        "the journal shows a token"
    );
    let journal = journal.try_json()?;
    let entries = journal.as_array().context("the journal is not a list")?;
    let codes: Vec<Value> = entries.iter().map(|e| e["code"].clone()).collect();
    ensure_eq!(codes, [json!(0), json!(14), json!(0)], "journaled codes");
    for entry in entries {
        ensure_eq!(entry["transport"], here);
        ensure_eq!(entry["method"], "AddMyPasswordlessLink");
    }
    ensure_eq!(entries[1]["fault"], "error");
    ensure_eq!(entries[1]["error_id"], "MOCK-here");

    let codes = admin(&ctx, "GET", "/codes", None).await?.try_json()?;
    let ids: Vec<&str> = codes
        .as_array()
        .context("codes is not a list")?
        .iter()
        .filter_map(|c| c["code_id"].as_str())
        .collect();
    ensure_eq!(ids, [link.code_id(), second.code_id()], "live codes");

    let advanced = admin(
        &ctx,
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 3601})),
    )
    .await?;
    ensure!(
        advanced.status.is_success(),
        "advancing the clock: {}",
        advanced.status
    );
    // ZITADEL's login page answers an expired code with HTTP 200 and "Code is invalid".
    let expired = get(link.url()).await?;
    ensure_eq!(expired.status.as_u16(), 200, "an expired link");
    ensure!(
        String::from_utf8_lossy(&expired.body).contains("COMMAND-Dhz8i"),
        "an expired link shows COMMAND-Dhz8i"
    );

    let reset = admin(&ctx, "POST", "/reset", None).await?;
    ensure!(reset.status.is_success(), "reset: {}", reset.status);
    ensure_eq!(
        admin(&ctx, "GET", "/journal", None).await?.try_json()?,
        json!([])
    );
    ensure_eq!(
        admin(&ctx, "GET", "/codes", None).await?.try_json()?,
        json!([])
    );
    let error = client
        .add_passkey_link()
        .await
        .err()
        .context("an added user survived reset")?;
    ensure_eq!(error.error_id(), Some("AUTH-7fs1e"), "{error}");
    ctx::builder(&ctx.endpoint(), ctx.transport)
        .token(ctx::TOKEN_A)
        .build()?
        .add_passkey_link()
        .await
        .context("a configured user after reset")?;
    Ok(())
}
