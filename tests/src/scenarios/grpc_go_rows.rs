//! Rows for the grpc-go peer: every RPC's success and every error of the behaviour table that a
//! client can cause, as grpc-go reads them (code, `grpc-message`, the decoded
//! `zitadel.v1.ErrorDetail`), and what the mock journaled.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use zitadel_passkey::Code;
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkResponse, ListMyPasswordlessResponse, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkResponse,
};
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;

use crate::ctx::{Ctx, ORG_A, ORG_UNKNOWN, TOKEN_NO_USER, TOKEN_UNKNOWN, USER_A, missing_tool};
use crate::ensure_eq;
use crate::peers::grpc_go::{self, Call, Method, Outcome, Unavailable};
use crate::wire;

/// The built peer and the mock's `host:port`.
async fn peer(ctx: &Ctx) -> Result<(PathBuf, String)> {
    let addr = ctx.mock()?.local_addr().to_string();
    match grpc_go::binary().await {
        Ok(binary) => Ok((binary, addr)),
        Err(Unavailable::NoGo(reason)) => missing_tool(reason),
        Err(Unavailable::BuildFailed(reason)) => anyhow::bail!(reason),
    }
}

/// A call with user A's token.
fn as_a(ctx: &Ctx) -> Call<'_> {
    Call {
        token: Some(ctx.token()),
        ..Call::default()
    }
}

/// Every journaled call came over gRPC on HTTP/2, with these codes in order.
fn journal(ctx: &Ctx, expected: &[(&str, Code)]) -> Result<()> {
    let journal = ctx.mock()?.journal();
    let seen: Vec<(&str, Option<Code>)> = journal.iter().map(|e| (e.method, e.code)).collect();
    let wanted: Vec<(&str, Option<Code>)> = expected.iter().map(|(m, c)| (*m, Some(*c))).collect();
    ensure_eq!(seen, wanted, "the journal");
    for entry in &journal {
        ensure_eq!(entry.transport.as_str(), "grpc", "{}", entry.method);
        ensure_eq!(entry.http_version, "HTTP/2", "{}", entry.method);
    }
    Ok(())
}

/// AddMyPasswordlessLink twice: the links are the mock's live codes, details and expiration
/// as documented, the sequence grows by one.
pub async fn add(ctx: Ctx) -> Result<()> {
    let (peer, addr) = peer(&ctx).await?;
    let mut responses = Vec::new();
    for _ in 0..2 {
        let outcome = grpc_go::call(&peer, &addr, Method::Add, &as_a(&ctx)).await?;
        responses.push(outcome.ok::<AddMyPasswordlessLinkResponse>()?);
    }
    let codes = ctx.mock()?.live_codes();
    ensure_eq!(codes.len(), 2, "live codes");
    for (response, code) in responses.iter().zip(&codes) {
        ensure_eq!(response.link, code.link, "the link is the mock's code");
        let url = url::Url::parse(&response.link)?;
        ensure_eq!(url.path(), "/ui/login/login/passwordless/init");
        let query = wire::query(&response.link)?;
        let keys: Vec<&str> = query.keys().map(String::as_str).collect();
        ensure_eq!(keys, ["code", "codeID", "orgID", "userID"]);
        ensure_eq!(query["userID"], USER_A);
        ensure_eq!(query["orgID"], ORG_A);
        ensure_eq!(query["codeID"], code.code_id);
        ensure!(wire::is_code(&query["code"]), "the code's shape");
        let details = response.details.as_ref().context("no details")?;
        ensure_eq!(details.resource_owner, ORG_A);
        ensure!(details.creation_date.is_some(), "creationDate missing");
        ensure!(details.change_date.is_none(), "changeDate set");
        let expiration = response.expiration.as_ref().context("no expiration")?;
        ensure_eq!((expiration.seconds, expiration.nanos), (3600, 0));
    }
    let sequence = |r: &AddMyPasswordlessLinkResponse| r.details.as_ref().map(|d| d.sequence);
    ensure_eq!(
        sequence(&responses[1]),
        sequence(&responses[0]).map(|s| s + 1),
        "the sequence"
    );
    ensure!(
        responses[0].link != responses[1].link,
        "two calls, one link"
    );
    journal(
        &ctx,
        &[
            ("AddMyPasswordlessLink", Code::Ok),
            ("AddMyPasswordlessLink", Code::Ok),
        ],
    )
}

/// SendMyPasswordlessLink: details only, the link in the outbox.
pub async fn send(ctx: Ctx) -> Result<()> {
    let (peer, addr) = peer(&ctx).await?;
    let outcome = grpc_go::call(&peer, &addr, Method::Send, &as_a(&ctx)).await?;
    let response: SendMyPasswordlessLinkResponse = outcome.ok()?;
    let details = response.details.context("no details")?;
    ensure_eq!(details.resource_owner, ORG_A);
    ensure!(details.sequence > 0, "sequence is 0");
    ensure!(details.creation_date.is_some(), "creationDate missing");
    ensure!(details.change_date.is_none(), "changeDate set");
    let outbox = ctx.mock()?.outbox();
    ensure_eq!(outbox.len(), 1, "outbox");
    ensure_eq!(outbox[0].user_id, USER_A);
    journal(&ctx, &[("SendMyPasswordlessLink", Code::Ok)])
}

/// ListMyPasswordless: the user's READY passkeys, with ID and name.
pub async fn list(ctx: Ctx) -> Result<()> {
    let (peer, addr) = peer(&ctx).await?;
    let empty: ListMyPasswordlessResponse = grpc_go::call(&peer, &addr, Method::List, &as_a(&ctx))
        .await?
        .ok()?;
    ensure!(empty.result.is_empty(), "a fresh user has passkeys");
    let id = ctx.mock()?.add_passkey(USER_A, "go key");
    let listed: ListMyPasswordlessResponse = grpc_go::call(&peer, &addr, Method::List, &as_a(&ctx))
        .await?
        .ok()?;
    let got: Vec<(&str, &str, AuthFactorState)> = listed
        .result
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str(), t.state()))
        .collect();
    ensure_eq!(
        got,
        [(id.as_str(), "go key", AuthFactorState::Ready)],
        "the listed passkeys"
    );
    journal(
        &ctx,
        &[
            ("ListMyPasswordless", Code::Ok),
            ("ListMyPasswordless", Code::Ok),
        ],
    )
}

/// RemoveMyPasswordless: changeDate (not creationDate), the passkey gone from the list.
pub async fn remove(ctx: Ctx) -> Result<()> {
    let (peer, addr) = peer(&ctx).await?;
    let id = ctx.mock()?.add_passkey(USER_A, "go key");
    let call = Call {
        id: Some(&id),
        ..as_a(&ctx)
    };
    let response: RemoveMyPasswordlessResponse = grpc_go::call(&peer, &addr, Method::Remove, &call)
        .await?
        .ok()?;
    let details = response.details.context("no details")?;
    ensure_eq!(details.resource_owner, ORG_A);
    ensure!(details.change_date.is_some(), "remove sets changeDate");
    ensure!(details.creation_date.is_none(), "remove sets creationDate");
    let left: ListMyPasswordlessResponse = grpc_go::call(&peer, &addr, Method::List, &as_a(&ctx))
        .await?
        .ok()?;
    ensure!(left.result.is_empty(), "the passkey is still listed");
    journal(
        &ctx,
        &[
            ("RemoveMyPasswordless", Code::Ok),
            ("ListMyPasswordless", Code::Ok),
        ],
    )
}

/// What an error row sends and expects.
struct Case<'a> {
    method: Method,
    call: Call<'a>,
    code: Code,
    /// The ErrorDetail's message (with an id) or the whole `grpc-message` (without).
    message: &'a str,
    /// The ErrorDetail's id; `None`: the status has no details at all.
    id: Option<&'a str>,
}

/// The method names of the journal.
fn journal_name(method: Method) -> &'static str {
    match method {
        Method::Add => "AddMyPasswordlessLink",
        Method::Send => "SendMyPasswordlessLink",
        Method::List => "ListMyPasswordless",
        Method::Remove => "RemoveMyPasswordless",
    }
}

/// Runs one error case: the status as grpc-go decoded it, and the journal.
async fn error_case(ctx: &Ctx, case: Case<'_>) -> Result<Outcome> {
    let (peer, addr) = peer(ctx).await?;
    let outcome = grpc_go::call(&peer, &addr, case.method, &case.call).await?;
    ensure_eq!(outcome.code, case.code, "the code ({})", outcome.code_name);
    match case.id {
        None => {
            ensure_eq!(outcome.message, case.message, "grpc-message");
            ensure!(outcome.details.is_empty(), "details: {:?}", outcome.details);
        }
        Some(id) => {
            ensure_eq!(
                outcome.message,
                format!("{} ({id})", case.message),
                "grpc-message"
            );
            ensure_eq!(outcome.details.len(), 1, "details: {:?}", outcome.details);
            let detail = &outcome.details[0];
            ensure_eq!(detail.error, "", "the detail did not decode");
            ensure_eq!(detail.type_name, "zitadel.v1.ErrorDetail");
            ensure_eq!(detail.id, id, "the ErrorDetail's id");
            ensure_eq!(detail.message, case.message, "the ErrorDetail's message");
        }
    }
    ensure!(outcome.response.is_none(), "an error with a response");
    journal(ctx, &[(journal_name(case.method), case.code)])?;
    let journaled = ctx.mock()?.journal();
    ensure_eq!(
        journaled[0].error_id.as_deref(),
        case.id,
        "the journaled error id"
    );
    ensure!(
        ctx.mock()?.live_codes().is_empty(),
        "a failed call made a code"
    );
    Ok(outcome)
}

/// No `authorization` header: UNAUTHENTICATED `auth header missing`, no details.
pub async fn header_missing(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Add,
        call: Call::default(),
        code: Code::Unauthenticated,
        message: "auth header missing",
        id: None,
    };
    error_case(&ctx, case).await.map(drop)
}

/// Another scheme (`Basic <token>`): UNAUTHENTICATED `AUTH-7fs1e` `invalid auth header`.
pub async fn invalid_header(ctx: Ctx) -> Result<()> {
    let basic = format!("Basic {}", ctx.token());
    let case = Case {
        method: Method::Add,
        call: Call {
            authorization: Some(&basic),
            ..Call::default()
        },
        code: Code::Unauthenticated,
        message: "invalid auth header",
        id: Some("AUTH-7fs1e"),
    };
    error_case(&ctx, case).await.map(drop)
}

/// A token the mock does not know: UNAUTHENTICATED `AUTH-7fs1e` `Errors.Token.Invalid`.
pub async fn token_invalid(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Add,
        call: Call {
            token: Some(TOKEN_UNKNOWN),
            ..Call::default()
        },
        code: Code::Unauthenticated,
        message: "Errors.Token.Invalid",
        id: Some("AUTH-7fs1e"),
    };
    error_case(&ctx, case).await.map(drop)
}

/// `x-zitadel-orgid` naming no organisation: PERMISSION_DENIED `AUTH-Bs7Ds`; the header arrived.
pub async fn org_not_found(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Add,
        call: Call {
            org: Some(ORG_UNKNOWN),
            ..as_a(&ctx)
        },
        code: Code::PermissionDenied,
        message: "Organisation doesn't exist",
        id: Some("AUTH-Bs7Ds"),
    };
    error_case(&ctx, case).await?;
    let journal = ctx.journal("AddMyPasswordlessLink")?;
    ensure_eq!(journal[0].org_id.as_deref(), Some(ORG_UNKNOWN), "the org");
    Ok(())
}

/// A token without a user: FAILED_PRECONDITION `COMMAND-GVfg3` `Errors.IDMissing`.
pub async fn user_id_missing(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Add,
        call: Call {
            token: Some(TOKEN_NO_USER),
            ..Call::default()
        },
        code: Code::FailedPrecondition,
        message: "Errors.IDMissing",
        id: Some("COMMAND-GVfg3"),
    };
    error_case(&ctx, case).await.map(drop)
}

/// RemoveMyPasswordless of an unknown ID: NOT_FOUND `MOCK-tkn02`.
pub async fn remove_unknown(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Remove,
        call: Call {
            id: Some("123456789012345678"),
            ..as_a(&ctx)
        },
        code: Code::NotFound,
        message: "Errors.User.WebAuthN.NotFound",
        id: Some("MOCK-tkn02"),
    };
    error_case(&ctx, case).await.map(drop)
}

/// RemoveMyPasswordless with an empty ID, which the SDK refuses before sending and grpc-go
/// sends: the mock's INVALID_ARGUMENT `MOCK-tkn01`.
pub async fn remove_empty_id(ctx: Ctx) -> Result<()> {
    let case = Case {
        method: Method::Remove,
        call: Call {
            id: Some(""),
            ..as_a(&ctx)
        },
        code: Code::InvalidArgument,
        message: "Errors.IDMissing",
        id: Some("MOCK-tkn01"),
    };
    error_case(&ctx, case).await.map(drop)
}
