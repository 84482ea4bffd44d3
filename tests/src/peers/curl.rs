//! A REST peer: the `curl` command line (HTTP/1.1, or h2c with prior knowledge).

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::ctx;
use crate::ensure_eq;
use crate::wire::Version;

/// One curl answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether curl runs here; the reason when not.
pub async fn available() -> Result<(), String> {
    match tokio::process::Command::new("curl")
        .arg("--version")
        .output()
        .await
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`curl --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("curl is not installed ({e})")),
    }
}

async fn curl(
    base: &str,
    version: Version,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer> {
    let mut command = tokio::process::Command::new("curl");
    command.args(["-sS", "-i", "--max-time", "10", "-X", method]);
    command.arg(match version {
        Version::Http1 => "--http1.1",
        Version::Http2 => "--http2-prior-knowledge",
    });
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(body) = body {
        command.args([
            "-H",
            "content-type: application/json",
            "--data-binary",
            body,
        ]);
    }
    command.arg(format!("{base}{path}"));
    let out = command.output().await.context("running curl")?;
    ensure!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).context("curl output is not UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("no header/body split")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let expected_prefix = match version {
        Version::Http1 => "HTTP/1.1 ",
        Version::Http2 => "HTTP/2 ",
    };
    ensure!(
        status_line.starts_with(expected_prefix),
        "status line {status_line:?}"
    );
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).with_context(|| format!("not JSON: {body:?}"))?
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Add (with `{}`, an empty body and unknown fields), send, list, remove and the §3 errors, in
/// canonical proto3 JSON.
pub async fn check(
    base: &str,
    version: Version,
    token: &str,
    mock_user: Option<(&zitadel_passkey_mock::MockServer, &str)>,
) -> Result<()> {
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let link_path = "/auth/v1/users/me/passwordless/_link";
    let mut links = Vec::new();
    for body in [
        Some("{}"),
        None,
        Some(r#"{"unknownField":{"a":[1,2]},"another":"x"}"#),
    ] {
        let answer = curl(base, version, "POST", link_path, &auth, body).await?;
        ensure_eq!(answer.status, 200, "body {body:?}: {answer:?}");
        ensure!(
            answer
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "content-type"
        );
        let json = &answer.body;
        let link = json["link"].as_str().context("no link")?.to_owned();
        ensure_eq!(json["expiration"], "3600s");
        let details = &json["details"];
        ensure!(
            details["sequence"].is_string(),
            "uint64 as a JSON string: {details}"
        );
        let created = details["creationDate"]
            .as_str()
            .context("no creationDate")?;
        ensure!(
            created.ends_with('Z'),
            "creationDate {created:?} is not UTC with Z"
        );
        ensure!(
            details.get("changeDate").is_none(),
            "changeDate set: {details}"
        );
        let query = crate::wire::query(&link)?;
        ensure_eq!(details["resourceOwner"], query["orgID"].as_str());
        links.push(link);
    }
    links.sort();
    links.dedup();
    ensure_eq!(links.len(), 3, "distinct links");

    let missing = curl(base, version, "POST", link_path, &[], Some("{}")).await?;
    ensure_eq!(missing.status, 401);
    // grpc-gateway's default error handler puts the status message there, not a challenge.
    ensure_eq!(
        missing.header("www-authenticate"),
        Some("auth header missing")
    );
    ensure_eq!(missing.body["code"], 16);
    ensure_eq!(missing.body["message"], "auth header missing");
    ensure!(
        missing
            .body
            .get("details")
            .is_none_or(|d| d.as_array().is_some_and(|a| a.is_empty())),
        "details on `auth header missing`"
    );

    let invalid = curl(
        base,
        version,
        "POST",
        link_path,
        &[("authorization", "Bearer not-a-known-token")],
        Some("{}"),
    )
    .await?;
    ensure_eq!(invalid.status, 401);
    // grpc-gateway's default error handler puts the status message there, not a challenge.
    ensure_eq!(
        invalid.header("www-authenticate"),
        Some("Errors.Token.Invalid (AUTH-7fs1e)")
    );
    ensure_eq!(invalid.body["code"], 16);
    ensure_eq!(invalid.body["message"], "Errors.Token.Invalid (AUTH-7fs1e)");
    let detail = &invalid.body["details"][0];
    ensure_eq!(
        detail["@type"],
        "type.googleapis.com/zitadel.v1.ErrorDetail"
    );
    ensure_eq!(detail["id"], "AUTH-7fs1e");
    ensure_eq!(detail["message"], "Errors.Token.Invalid");

    let org = curl(
        base,
        version,
        "POST",
        link_path,
        &[auth[0], ("x-zitadel-orgid", ctx::ORG_UNKNOWN)],
        Some("{}"),
    )
    .await?;
    ensure_eq!(org.status, 403);
    ensure_eq!(org.body["code"], 7);
    ensure_eq!(org.body["details"][0]["id"], "AUTH-Bs7Ds");

    let sent = curl(
        base,
        version,
        "POST",
        "/auth/v1/users/me/passwordless/_send_link",
        &auth,
        Some("{}"),
    )
    .await?;
    ensure_eq!(sent.status, 200);
    ensure!(
        sent.body["details"]["creationDate"].is_string(),
        "{:?}",
        sent.body
    );

    if let Some((mock, user)) = mock_user {
        let id = mock.add_passkey(user, "curl key");
        let list = curl(
            base,
            version,
            "POST",
            "/auth/v1/users/me/passwordless/_search",
            &auth,
            Some("{}"),
        )
        .await?;
        ensure_eq!(list.status, 200);
        let result = list.body["result"].as_array().context("no result list")?;
        ensure_eq!(result.len(), 1);
        ensure_eq!(result[0]["id"], id.as_str());
        ensure_eq!(result[0]["state"], "AUTH_FACTOR_STATE_READY");
        ensure_eq!(result[0]["name"], "curl key");
        let removed = curl(
            base,
            version,
            "DELETE",
            &format!("/auth/v1/users/me/passwordless/{id}"),
            &auth,
            None,
        )
        .await?;
        ensure_eq!(removed.status, 200, "{removed:?}");
        ensure!(
            removed.body["details"]["changeDate"].is_string(),
            "{:?}",
            removed.body
        );
        ensure!(
            removed.body["details"].get("creationDate").is_none(),
            "{:?}",
            removed.body
        );
        let again = curl(
            base,
            version,
            "DELETE",
            &format!("/auth/v1/users/me/passwordless/{id}"),
            &auth,
            None,
        )
        .await?;
        ensure_eq!(again.status, 404);
        ensure_eq!(again.body["code"], 5);
    } else {
        bail!("the curl peer needs the mock");
    }
    Ok(())
}
