//! `zitadel-passkey login`/`logout` and the stored login, with the real binary against the
//! mock's OAuth endpoints: the person's side (approve, deny) goes through the mock's admin API.
//! Every run uses the file store in its own directory (`ZITADEL_PASSKEY_STORE=file`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use zitadel_passkey_mock::{Fault, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_zitadel-passkey");
const CLIENT_ID: &str = "318000000000000007";
const USER: &str = "218000000000000001";
const ORG: &str = "218000000000000002";
/// A configured user, so the mock knows `ORG`; its token is not used by these tests.
const OTHER_TOKEN: &str = "tok-other";

/// A mock that polls fast (1 s instead of ZITADEL's 5 s), with a known user.
async fn mock() -> MockServer {
    mock_with(|b| b).await
}

async fn mock_with(
    configure: impl FnOnce(
        zitadel_passkey_mock::MockServerBuilder,
    ) -> zitadel_passkey_mock::MockServerBuilder,
) -> MockServer {
    configure(
        MockServer::builder()
            .device_interval(Duration::from_secs(1))
            .user(OTHER_TOKEN, USER, ORG),
    )
    .start()
    .await
    .expect("mock starts")
}

/// One run's result.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The file store of one test.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn file(&self) -> PathBuf {
        self.config_dir().join("logins.json")
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(args)
            .env_remove("ZITADEL_URL")
            .env_remove("ZITADEL_TOKEN")
            .env_remove("ZITADEL_CLIENT_ID")
            .env_remove("RUST_LOG")
            .env("ZITADEL_PASSKEY_STORE", "file")
            .env("ZITADEL_PASSKEY_CONFIG_DIR", self.config_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[]).await
    }

    async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .expect("finished within 60 s")
            .expect("ran");
        Run {
            code: output.status.code().expect("exited"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// The stored tokens of the one login (access, refresh).
    fn stored_tokens(&self) -> (String, Option<String>) {
        let text = std::fs::read_to_string(self.file()).unwrap();
        let logins: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (_, login) = logins.as_object().unwrap().iter().next().unwrap();
        let tokens = &login["tokens"];
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["refresh_token"].as_str().map(str::to_owned),
        )
    }
}

/// `login` until it shows the user code: the running process and the code.
struct Login {
    child: tokio::process::Child,
    shown: String,
    /// The rest of stdout, once the process ends.
    rest: tokio::task::JoinHandle<String>,
    user_code: String,
}

async fn start_login(home: &Home, mock: &MockServer, extra: &[&str]) -> Login {
    let uri = mock.uri();
    let mut args = vec![
        "login",
        "--endpoint",
        uri.as_str(),
        "--client-id",
        CLIENT_ID,
        "--qr",
        "none",
    ];
    args.extend_from_slice(extra);
    let mut child = home.command(&args).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut shown = String::new();
    let user_code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            shown.push_str(&line);
            shown.push('\n');
            let word = line.trim();
            if word.len() == 9
                && word.as_bytes()[4] == b'-'
                && word
                    .chars()
                    .filter(|c| *c != '-')
                    .all(|c| c.is_ascii_uppercase())
            {
                return word.to_owned();
            }
        }
        panic!("login ended without a user code: {shown}");
    })
    .await
    .expect("the code is shown at once");
    // Keep reading stdout so the child never blocks on a full pipe.
    let mut rest = lines.into_inner();
    let rest = tokio::spawn(async move {
        let mut text = String::new();
        let _ = rest.read_to_string(&mut text).await;
        text
    });
    Login {
        child,
        shown,
        rest,
        user_code,
    }
}

impl Login {
    /// The exit code and stderr (stdout, all of it, is in `Run::stdout` of [`Login::finish_run`]).
    async fn finish(self) -> (i32, String) {
        let run = self.finish_run().await;
        (run.code, run.stderr)
    }

    async fn finish_run(self) -> Run {
        let shown = self.shown.clone();
        let rest = self.rest;
        let mut child = self.child;
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(40), child.wait())
            .await
            .expect("login ends")
            .unwrap();
        Run {
            code: status.code().expect("exited"),
            stdout: shown + &rest.await.unwrap(),
            stderr,
        }
    }
}

async fn signed_in(home: &Home, mock: &MockServer) {
    let login = start_login(home, mock, &[]).await;
    mock.approve_device(&login.user_code, Some(USER)).unwrap();
    let (code, stderr) = login.finish().await;
    assert_eq!(code, 0, "{stderr}");
}

fn assert_hides(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.stdout.contains(secret), "a token on stdout: {run:?}");
        assert!(!run.stderr.contains(secret), "a token on stderr: {run:?}");
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_link_and_list_use_the_stored_tokens() {
    let mock = mock().await;
    let home = Home::new();
    let login = start_login(&home, &mock, &[]).await;
    assert!(
        login.shown.contains(&format!("{}/device", mock.uri())),
        "{}",
        login.shown
    );
    mock.approve_device(&login.user_code, Some(USER)).unwrap();
    let run = login.finish_run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Signed in to"), "{run:?}");
    assert!(
        run.stdout.contains("(readable only by you)"),
        "says where: {run:?}"
    );

    #[cfg(unix)]
    {
        assert_eq!(
            mode(&home.file()),
            0o600,
            "the token file is the user's only"
        );
        assert_eq!(mode(&home.config_dir()), 0o700);
    }
    let (access, refresh) = home.stored_tokens();
    let refresh = refresh.expect("offline_access gives a refresh token");
    assert_hides(&run, &[&access, &refresh]);

    let uri = mock.uri();
    for transport in ["grpc", "grpc-web", "json"] {
        let link = home
            .run(&[
                "link",
                "--endpoint",
                &uri,
                "--transport",
                transport,
                "--output",
                "json",
            ])
            .await;
        assert_eq!(link.code, 0, "{transport}: {link:?}");
        assert_hides(&link, &[&access, &refresh]);
        let answer: serde_json::Value = serde_json::from_str(&link.stdout).unwrap();
        let url = answer["link"].as_str().unwrap();
        assert!(
            url.contains(&format!("userID={USER}")),
            "the approving user's link: {url}"
        );
        assert!(url.contains(&format!("orgID={ORG}")), "{url}");
    }
    // Every log record the binary can write, the HTTP stack's included.
    let list = home
        .run_env(
            &["list", "--endpoint", &uri, "--verbose"],
            &[("RUST_LOG", "trace")],
        )
        .await;
    assert_eq!(list.code, 0, "{list:?}");
    assert!(
        list.stderr
            .contains(&format!("signed in to {uri} with client {CLIENT_ID}")),
        "{}",
        list.stderr
    );
    assert!(
        list.stderr.contains("access token valid for"),
        "{}",
        list.stderr
    );
    assert_hides(&list, &[&access, &refresh]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_and_the_rotated_one_kept() {
    // 30 s tokens: inside the SDK's 60 s refresh margin, so every command refreshes first.
    let mock = mock_with(|b| b.token_ttl(Duration::from_secs(30))).await;
    let home = Home::new();
    signed_in(&home, &mock).await;
    let (first_access, first_refresh) = home.stored_tokens();

    let uri = mock.uri();
    let list = home.run(&["list", "--endpoint", &uri]).await;
    assert_eq!(list.code, 0, "{list:?}");
    let (access, refresh) = home.stored_tokens();
    assert_ne!(access, first_access, "refreshed");
    assert_ne!(refresh, first_refresh, "rotated and kept");
    assert_hides(
        &list,
        &[&access, &first_access, refresh.as_deref().unwrap()],
    );

    // The API rejects an access token that expired on the server's clock: refreshed once,
    // the call goes through.
    let mock = mock_with(|b| b).await;
    let home = Home::new();
    signed_in(&home, &mock).await;
    let (first_access, _) = home.stored_tokens();
    mock.advance_clock(Duration::from_secs(13 * 3600));
    let uri = mock.uri();
    let list = home.run(&["list", "--endpoint", &uri]).await;
    assert_eq!(list.code, 0, "{list:?}");
    assert_ne!(home.stored_tokens().0, first_access);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_or_expired_code_exits_3_with_a_hint() {
    let mock = mock().await;
    let home = Home::new();
    let login = start_login(&home, &mock, &[]).await;
    mock.deny_device(&login.user_code).unwrap();
    let (code, stderr) = login.finish().await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("access_denied"), "{stderr}");
    assert!(stderr.contains("zitadel-passkey login"), "a hint: {stderr}");
    assert!(!home.file().exists(), "nothing stored");

    let login = start_login(&home, &mock, &[]).await;
    mock.advance_clock(Duration::from_secs(301));
    let (code, stderr) = login.finish().await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("expired"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_is_honoured() {
    let mock = mock().await;
    mock.push_fault(Fault::oauth_error("slow_down", "polling too fast").method("Token"));
    let home = Home::new();
    let started = Instant::now();
    let login = start_login(&home, &mock, &[]).await;
    mock.approve_device(&login.user_code, Some(USER)).unwrap();
    let (code, stderr) = login.finish().await;
    assert_eq!(code, 0, "{stderr}");
    // 1 s, slow_down, then 1 + 5 s.
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    let polls: Vec<_> = mock
        .journal()
        .into_iter()
        .filter(|entry| entry.method == "Token")
        .collect();
    assert_eq!(polls.len(), 2, "{polls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_and_forgets() {
    let mock = mock().await;
    let home = Home::new();
    signed_in(&home, &mock).await;
    let (access, _) = home.stored_tokens();
    let uri = mock.uri();

    let logout = home.run(&["logout", "--endpoint", &uri]).await;
    assert_eq!(logout.code, 0, "{logout:?}");
    assert!(logout.stdout.contains("Signed out"), "{logout:?}");
    let text = std::fs::read_to_string(home.file()).unwrap();
    assert!(!text.contains(&access), "forgotten");
    // Revoked at the server: the old token no longer works.
    let with_old = home
        .run(&["list", "--endpoint", &uri, "--token", &access])
        .await;
    assert_eq!(with_old.code, 3, "{with_old:?}");
    // Without a login, commands ask for a token as before; logout again is a no-op.
    let again = home.run(&["logout", "--endpoint", &uri]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Not signed in"), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_id_exits_3_and_names_the_flag() {
    let mock = mock_with(|b| b.strict(true).client_id("the-only-app")).await;
    let home = Home::new();
    let uri = mock.uri();
    let run = home
        .run(&[
            "login",
            "--endpoint",
            &uri,
            "--client-id",
            CLIENT_ID,
            "--qr",
            "none",
        ])
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("invalid_client"), "{run:?}");
    assert!(run.stderr.contains("--client-id"), "{run:?}");
    // Usage: no endpoint, no client ID.
    let run = home.run(&["login", "--client-id", CLIENT_ID]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = home.run(&["login", "--endpoint", &uri]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_login_ended_at_the_server_says_to_sign_in_again() {
    let mock = mock().await;
    let home = Home::new();
    signed_in(&home, &mock).await;
    let (access, refresh) = home.stored_tokens();
    let refresh = refresh.unwrap();
    // Ended elsewhere (an administrator, another device): revoking the refresh token takes its
    // access tokens along.
    let revoke = raw_post(
        &mock,
        "/oauth/v2/revoke",
        &format!("token={refresh}&client_id={CLIENT_ID}"),
    )
    .await;
    assert!(revoke.starts_with("HTTP/1.1 200"), "{revoke}");
    let uri = mock.uri();
    let list = home.run(&["list", "--endpoint", &uri]).await;
    assert_eq!(list.code, 3, "{list:?}");
    assert!(list.stderr.contains("login` again"), "{list:?}");
    assert_hides(&list, &[&access, &refresh]);
}

/// A form POST over a plain HTTP/1.1 connection: the raw answer.
async fn raw_post(mock: &MockServer, path: &str, form: &str) -> String {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(mock.local_addr())
        .await
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{form}",
        mock.local_addr(),
        form.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}
