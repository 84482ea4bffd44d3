//! A gRPC-web peer: frames, headers and trailers made and read by hand on a raw hyper
//! connection (HTTP/1.1 or h2c). Only the protobuf messages come from the generated code.

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use http::Request;
use prost::Message;
use zitadel_passkey::proto::google::rpc::Status;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::ErrorDetail;
use zitadel_passkey_test_support::{Reply, b64_decode, frame, frames, send_request, trailer_block};

use crate::ensure_eq;
use crate::wire::{self, Version};

const PATH: &str = "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink";

/// A gRPC-web answer: its message frames and its status (from the headers when trailers-only,
/// else from the trailer frame).
#[derive(Debug)]
struct Answer {
    messages: Vec<Vec<u8>>,
    status: std::collections::BTreeMap<String, String>,
}

async fn call(addr: &str, version: Version, headers: &[(&str, &str)]) -> Result<Answer> {
    let mut request = Request::post(PATH)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("accept", "application/grpc-web+proto");
    if version == Version::Http1 {
        request = request.header("host", addr);
    } else {
        request = request.uri(format!("http://{addr}{PATH}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Bytes::from(frame(0, &[])))?;
    let reply = send_request(addr, version.http(), request).await?;
    answer(&reply)
}

fn answer(reply: &Reply) -> Result<Answer> {
    ensure_eq!(
        reply.status.as_u16(),
        200,
        "gRPC-web always answers HTTP 200"
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    ensure!(
        content_type.starts_with("application/grpc-web"),
        "content-type {content_type:?}"
    );
    let mut status = std::collections::BTreeMap::new();
    if let Some(code) = reply.header("grpc-status") {
        // Trailers-only: the status is in the headers and the body is empty.
        status.insert("grpc-status".to_owned(), code.to_owned());
        for name in ["grpc-message", "grpc-status-details-bin"] {
            if let Some(value) = reply.header(name) {
                status.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    let mut messages = Vec::new();
    for (flag, payload) in frames(&reply.body)? {
        match flag {
            0 => messages.push(payload),
            0x80 => status.extend(trailer_block(&payload)),
            other => bail!("unexpected frame flag {other:#x}"),
        }
    }
    ensure!(
        status.contains_key("grpc-status"),
        "no grpc-status at all: {reply:?}"
    );
    Ok(Answer { messages, status })
}

fn message(answer: &Answer) -> String {
    let raw = answer
        .status
        .get("grpc-message")
        .cloned()
        .unwrap_or_default();
    percent_encoding::percent_decode_str(&raw)
        .decode_utf8_lossy()
        .into_owned()
}

fn detail(answer: &Answer) -> Result<Option<ErrorDetail>> {
    let Some(bin) = answer.status.get("grpc-status-details-bin") else {
        return Ok(None);
    };
    let status = Status::decode(b64_decode(bin)?.as_slice())?;
    let any = status.details.first().context("a Status without details")?;
    ensure_eq!(any.type_url, "type.googleapis.com/zitadel.v1.ErrorDetail");
    Ok(Some(ErrorDetail::decode(any.value.as_slice())?))
}

/// Success, the three UNAUTHENTICATED answers and an unknown org, checked on the wire.
pub async fn check(addr: &str, version: Version, token: &str) -> Result<()> {
    let bearer = format!("Bearer {token}");
    let ok = call(addr, version, &[("authorization", &bearer)]).await?;
    ensure_eq!(
        ok.status.get("grpc-status").map(String::as_str),
        Some("0"),
        "{ok:?}"
    );
    ensure_eq!(ok.messages.len(), 1, "one message");
    let response = AddMyPasswordlessLinkResponse::decode(ok.messages[0].as_slice())?;
    let query = wire::query(&response.link)?;
    ensure!(wire::is_code(&query["code"]), "the code");
    let details = response.details.context("no details")?;
    ensure_eq!(details.resource_owner, query["orgID"]);
    ensure_eq!(response.expiration.map(|d| d.seconds), Some(3600));

    let second = call(addr, version, &[("authorization", &bearer)]).await?;
    let second = AddMyPasswordlessLinkResponse::decode(
        second.messages.first().context("no message")?.as_slice(),
    )?;
    ensure!(second.link != response.link, "two calls, one link");

    let missing = call(addr, version, &[]).await?;
    ensure_eq!(
        missing.status.get("grpc-status").map(String::as_str),
        Some("16")
    );
    ensure_eq!(message(&missing), "auth header missing");
    ensure!(
        detail(&missing)?.is_none(),
        "details on `auth header missing`"
    );

    let basic = format!("Basic {token}");
    let scheme = call(addr, version, &[("authorization", &basic)]).await?;
    ensure_eq!(message(&scheme), "invalid auth header (AUTH-7fs1e)");
    ensure_eq!(
        detail(&scheme)?.map(|d| d.id),
        Some("AUTH-7fs1e".to_owned())
    );

    let invalid = call(
        addr,
        version,
        &[("authorization", "Bearer not-a-known-token")],
    )
    .await?;
    ensure_eq!(
        invalid.status.get("grpc-status").map(String::as_str),
        Some("16")
    );
    ensure_eq!(message(&invalid), "Errors.Token.Invalid (AUTH-7fs1e)");
    let detail_invalid = detail(&invalid)?.context("no ErrorDetail")?;
    ensure_eq!(detail_invalid.id, "AUTH-7fs1e");
    ensure_eq!(detail_invalid.message, "Errors.Token.Invalid");

    let org = call(
        addr,
        version,
        &[
            ("authorization", &bearer),
            ("x-zitadel-orgid", crate::ctx::ORG_UNKNOWN),
        ],
    )
    .await?;
    ensure_eq!(org.status.get("grpc-status").map(String::as_str), Some("7"));
    ensure_eq!(detail(&org)?.map(|d| d.id), Some("AUTH-Bs7Ds".to_owned()));

    // CORS preflight, as a browser sends it before a gRPC-web call.
    let mut preflight = Request::options(PATH)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            // Sorted and lowercase, as browsers send it; the wrapper's allow-list has no
            // `grpc-timeout` (the REST gateway's has).
            "authorization,content-type,x-grpc-web,x-zitadel-orgid",
        );
    preflight = if version == Version::Http1 {
        preflight.header("host", addr)
    } else {
        preflight.uri(format!("http://{addr}{PATH}"))
    };
    let reply = send_request(addr, version.http(), preflight.body(Bytes::new())?).await?;
    ensure!(reply.status.is_success(), "preflight: {}", reply.status);
    let origin = reply
        .header("access-control-allow-origin")
        .unwrap_or_default();
    ensure!(
        origin == "https://app.example" || origin == "*",
        "preflight allow-origin {origin:?}"
    );
    Ok(())
}
