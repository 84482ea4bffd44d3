//! The server as a whole: binding, the binary, graceful shutdown, seeds and the fixed clock,
//! the admin API, secrets kept out of Debug output.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::common::*;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::{Fault, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_zitadel-passkey-mock");

async fn add(uri: &str, via: Via, token: &str) -> AddMyPasswordlessLinkResponse {
    let auth = format!("Bearer {token}");
    call(
        uri,
        via,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", &auth)],
        "",
    )
    .await
    .unwrap()
}

/// A child process that is killed if the test fails before it is stopped.
pub(crate) struct Mock(pub(crate) Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the URI it printed.
pub(crate) fn spawn(args: &[&str]) -> (Mock, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let mock = Mock(child);
    let uri = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (mock, uri)
}

#[tokio::test]
async fn library_binds_loopback_by_default() {
    let mock = MockServer::start().await.unwrap();
    assert!(mock.local_addr().ip().is_loopback());
    assert_ne!(mock.local_addr().port(), 0);
    assert_eq!(
        mock.uri(),
        format!("http://127.0.0.1:{}", mock.local_addr().port())
    );
}

#[test]
fn binary_binds_loopback_8080_by_default() {
    let mut child = Command::new(BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.is_empty() {
        // Port 8080 is taken on this machine: the error must name the default address.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        eprintln!("8080 busy, checked the error instead: {stderr}");
        assert!(stderr.contains("cannot start"), "{stderr}");
        return;
    }
    let _mock = Mock(child);
    assert_eq!(line.trim_end(), "listening on http://127.0.0.1:8080");
}

#[test]
fn help_documents_every_flag() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--user",
        "--strict",
        "--seed",
        "--code-ttl",
        "--public-origin",
        "--config",
        "--tls-cert",
        "--tls-key",
        "--fixed-clock",
        "127.0.0.1:8080",
        "TOKEN=USER_ID@ORG_ID",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    // A token may start with `-` (base64url): still a --user value, not an unknown flag.
    let (_mock, uri) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--strict",
        "--user",
        "--dash-tok=218000000000000007@318000000000000007",
    ]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response = runtime.block_on(add(&uri, Via::Grpc, "--dash-tok"));
    assert_eq!(
        response.details.unwrap().resource_owner,
        "318000000000000007"
    );
    // A malformed --user is a usage error that does not repeat the value: it holds a token.
    for value in [
        "secret-no-equals-sign",
        "secret-token=218000000000000001@",
        "--secret-no-equals-sign",
    ] {
        let output = Command::new(BIN).args(["--user", value]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("TOKEN=USER_ID@ORG_ID"), "{stderr}");
        assert!(!stderr.contains("secret"), "the token leaked: {stderr}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn binary_serves_and_stops_gracefully_on_sigterm() {
    let (mut mock, uri) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--strict",
        "--user",
        "tok=218000000000000001@318000000000000001",
        "--seed",
        "5",
        "--code-ttl",
        "120",
        "--public-origin",
        "https://login.example.com",
    ]);
    assert!(uri.starts_with("http://127.0.0.1:"));
    assert!(!uri.ends_with(":0"));
    let response = add(&uri, Via::JsonH1, "tok").await;
    assert!(response.link.starts_with("https://login.example.com/ui/login/login/passwordless/init?userID=218000000000000001&orgID=318000000000000001&"));
    assert_eq!(response.expiration.unwrap().to_string(), "120s");
    let addr: std::net::SocketAddr = uri.trim_start_matches("http://").parse().unwrap();

    // A call in flight (held by a delay fault) finishes although SIGTERM comes meanwhile.
    let fault = r#"{"kind":"delay","millis":500}"#;
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::POST,
        "/__mock/faults",
        &[("content-type", "application/json")],
        fault,
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 201);
    let in_flight = tokio::spawn({
        let uri = uri.clone();
        async move { add(&uri, Via::Grpc, "tok").await }
    });
    // Wait until the call has arrived (it used up the fault).
    loop {
        let pending = send(
            addr,
            Version::HTTP_11,
            Method::GET,
            "/__mock/faults",
            &[],
            "",
        )
        .await
        .unwrap()
        .json();
        if pending.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &mock.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let response = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.details.unwrap().sequence, 3);
    let exit = tokio::task::spawn_blocking(move || mock.0.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish() {
    let mock = MockServer::start().await.unwrap();
    let uri = mock.uri();
    let addr = mock.local_addr();
    for _ in 0..3 {
        mock.push_fault(Fault::delay(Duration::from_millis(300)));
    }
    let calls: Vec<_> = [Via::Grpc, Via::GrpcWebH1, Via::JsonH2]
        .into_iter()
        .map(|via| {
            let uri = uri.clone();
            tokio::spawn(async move { add(&uri, via, "t").await })
        })
        .collect();
    while !mock.pending_faults().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), mock.shutdown())
        .await
        .unwrap();
    for call in calls {
        let response = call.await.unwrap();
        assert!(response.link.contains("code="));
    }
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let mock = MockServer::start().await.unwrap();
    let addr = mock.local_addr();
    drop(mock);
    let mut refused = false;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
}

async fn scripted_session(
    seed: u64,
    fixed: Option<SystemTime>,
) -> (Vec<String>, String, MockServer) {
    let mut builder = MockServer::builder()
        .seed(seed)
        .public_origin("https://auth.test")
        .user("tok", "218000000000000001", "318000000000000001");
    if let Some(time) = fixed {
        builder = builder.fixed_clock(time);
    }
    let mock = builder.start().await.unwrap();
    let mut outputs = Vec::new();
    for via in ALL_VIAS {
        outputs.push(add(&mock.uri(), via, "tok").await.link);
        outputs.push(add(&mock.uri(), via, "anonymous").await.link);
    }
    outputs.push(mock.add_passkey("218000000000000001", "yubikey"));
    let _: SendMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::JsonH1,
        SEND,
        SendMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer tok")],
        "",
    )
    .await
    .unwrap();
    outputs.push(mock.outbox()[0].link.clone());
    let journal = send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::GET,
        "/__mock/journal",
        &[],
        "",
    )
    .await
    .unwrap();
    (
        outputs,
        String::from_utf8(journal.body.to_vec()).unwrap(),
        mock,
    )
}

#[tokio::test]
async fn same_seed_same_ids_and_codes() {
    let (a, _, _) = scripted_session(42, None).await;
    let (b, _, _) = scripted_session(42, None).await;
    let (c, _, _) = scripted_session(43, None).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Reset re-seeds: the same calls give the same answers again.
    let (_, _, mock) = scripted_session(42, None).await;
    mock.reset();
    let again = add(&mock.uri(), Via::Grpc, "tok").await.link;
    assert_eq!(again, a[0]);
}

#[tokio::test]
async fn fixed_clock_gives_byte_identical_journals() {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let (a, journal_a, mock) = scripted_session(7, Some(time)).await;
    let (b, journal_b, _) = scripted_session(7, Some(time)).await;
    assert_eq!(a, b);
    assert_eq!(journal_a, journal_b);
    assert!(
        journal_a.contains("\"time\":\"2025-06-15T15:06:40Z\""),
        "{journal_a}"
    );
    let response = add(&mock.uri(), Via::JsonH1, "tok").await;
    let created = response.details.unwrap().creation_date.unwrap();
    assert_eq!(created.seconds, 1_750_000_000);
    assert_eq!(created.nanos, 0);
    // Tokens never appear in the journal, only fingerprints.
    assert!(!journal_a.contains("\"tok\"") && !journal_a.contains("anonymous"));
}

#[tokio::test]
async fn admin_api() {
    let mock = MockServer::builder().strict(true).start().await.unwrap();
    let addr = mock.local_addr();
    let get = |path: &'static str| async move {
        send(addr, Version::HTTP_11, Method::GET, path, &[], "")
            .await
            .unwrap()
    };
    let post = |path: String, body: &'static str| async move {
        send(
            addr,
            Version::HTTP_11,
            Method::POST,
            &path,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .unwrap()
    };
    assert_eq!(get("/__mock/health").await.json()["status"], "ok");
    // Strict: unknown until added.
    let error = call::<_, AddMyPasswordlessLinkResponse>(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer secret-token")],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(error.id(), Some("AUTH-7fs1e"));
    let reply = post(
        "/__mock/users".into(),
        r#"{"token":"secret-token","user_id":"218000000000000009","org_id":"318000000000000009"}"#,
    )
    .await;
    assert_eq!(reply.status, 201);
    let link = add(&mock.uri(), Via::GrpcWebH2, "secret-token").await.link;
    assert_eq!(link_params(&link)["orgID"], "318000000000000009");
    // The new user's org is now known.
    let _: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[
            ("authorization", "Bearer secret-token"),
            ("x-zitadel-orgid", "318000000000000009"),
        ],
        "",
    )
    .await
    .unwrap();
    let reply = post(
        "/__mock/users/218000000000000009/passkeys".into(),
        r#"{"name":"Face ID"}"#,
    )
    .await;
    assert_eq!(reply.status, 201);
    let passkey_id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_id(&passkey_id);
    let list: ListMyPasswordlessResponse = call(
        &mock.uri(),
        Via::JsonH2,
        LIST,
        ListMyPasswordlessRequest {},
        &[("authorization", "Bearer secret-token")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(list.result.len(), 1);
    assert_eq!(list.result[0].name, "Face ID");
    assert_eq!(list.result[0].id, passkey_id);

    let users = get("/__mock/users").await;
    let text = String::from_utf8(users.body.to_vec()).unwrap();
    assert!(!text.contains("secret-token"), "{text}");
    let users = users.json();
    let user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == "218000000000000009")
        .unwrap();
    assert_eq!(
        user["token_fingerprints"][0],
        zitadel_passkey_mock::token_fingerprint("secret-token")
    );
    assert_eq!(user["passkeys"][0]["name"], "Face ID");

    let codes = get("/__mock/codes").await.json();
    assert_eq!(codes.as_array().unwrap().len(), 2);
    assert_eq!(codes[0]["link"], link.as_str());
    assert_eq!(codes[0]["failed_attempts"], 0);
    let _: SendMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        SEND,
        SendMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer secret-token")],
        "",
    )
    .await
    .unwrap();
    let outbox = get("/__mock/outbox").await.json();
    assert_eq!(outbox[0]["user_id"], "218000000000000009");
    let journal = get("/__mock/journal").await.json();
    assert_eq!(journal.as_array().unwrap().len(), 5);
    assert_eq!(journal[1]["transport"], "grpc-web");
    assert_eq!(journal[1]["http_version"], "HTTP/2");
    assert_eq!(journal[1]["code"], 0);

    let reply = post("/__mock/clock/advance".into(), r#"{"seconds":7200}"#).await;
    assert_eq!(reply.status, 204);
    assert!(
        get("/__mock/codes")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty(),
        "expired"
    );

    assert_eq!(post("/__mock/reset".into(), "").await.status, 204);
    assert!(
        get("/__mock/journal")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        get("/__mock/outbox")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Added users are gone after a reset (strict mode refuses the token again).
    let error = call::<_, AddMyPasswordlessLinkResponse>(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer secret-token")],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(error.id(), Some("AUTH-7fs1e"));
    assert_eq!(get("/__mock/nothing").await.status, 404);
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let mock = MockServer::builder()
        .user(
            "very-secret-token",
            "218000000000000001",
            "318000000000000001",
        )
        .start()
        .await
        .unwrap();
    let response = add(&mock.uri(), Via::Grpc, "very-secret-token").await;
    let code = link_params(&response.link)["code"].clone();
    let debug = format!(
        "{mock:?} {:?} {:?} {:?}",
        mock.live_codes(),
        mock.journal(),
        mock.users()
    );
    assert!(!debug.contains("very-secret-token"), "{debug}");
    assert!(!debug.contains(&code), "{debug}");
    let _: SendMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        SEND,
        SendMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer very-secret-token")],
        "",
    )
    .await
    .unwrap();
    let sent_code = link_params(&mock.outbox()[0].link)["code"].clone();
    assert!(!format!("{:?}", mock.outbox()).contains(&sent_code));
}

#[test]
fn config_file() {
    let dir = std::env::temp_dir().join(format!("zitadel-mock-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mock.json");
    std::fs::write(
        &path,
        r#"{"listen":"127.0.0.1:0","strict":true,"seed":9,"code_ttl_seconds":30,
            "users":[{"token":"file-token","user_id":"218000000000000002","org_id":"318000000000000002"}],
            "fixed_clock":"2025-01-02T03:04:05Z"}"#,
    )
    .unwrap();
    let (_mock, uri) = spawn(&["--config", path.to_str().unwrap()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = add(&uri, Via::Grpc, "file-token").await;
        assert_eq!(response.expiration.unwrap().to_string(), "30s");
        let details = response.details.unwrap();
        assert_eq!(details.resource_owner, "318000000000000002");
        assert_eq!(
            details.creation_date.unwrap().to_rfc3339().unwrap(),
            "2025-01-02T03:04:05Z"
        );
        let error = call::<_, AddMyPasswordlessLinkResponse>(
            &uri,
            Via::Grpc,
            ADD,
            AddMyPasswordlessLinkRequest {},
            &[("authorization", "Bearer other")],
            "",
        )
        .await
        .unwrap_err();
        assert_eq!(error.code, 16);
    });
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"lisen":"x"}"#).unwrap();
    let output = Command::new(BIN)
        .args(["--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid config file"));
    let _ = std::fs::remove_dir_all(&dir);
}
