//! What the foreign-language tests share: the cdylib cargo built for this test, bindgen, the
//! mock, tools (skipped with a reason when missing, failing when `CI` is set) and a child
//! process runner with a time limit.

#![allow(dead_code)] // each test binary uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zitadel_passkey_mock::MockServer;

/// The token of the test user, its user and organisation (the scripts read them from the
/// environment).
pub const TOKEN: &str = "ffi-token-Zq8w2LmT";
pub const USER_ID: &str = "200000000000000001";
pub const ORG_ID: &str = "300000000000000001";
/// A token without a user: FAILED_PRECONDITION (`COMMAND-GVfg3`).
pub const NO_USER_TOKEN: &str = "ffi-no-user-token";
/// The OAuth client of the sign-in tests (the strict mock takes only it).
pub const CLIENT_ID: &str = "binding-test-app";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bindings/ is one level below the workspace root")
        .to_path_buf()
}

/// The debug cdylib cargo built along with this test, unstripped as bindgen needs it.
///
/// It is the one in `target/<profile>/deps/`, beside the test binary: `cargo test` builds the
/// library's crate types there but copies them up to `target/<profile>/` only on `cargo build`,
/// so the copy up there can be stale.
pub fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let deps = exe
        .parent()
        .expect("the test runs from target/<profile>/deps");
    let name = format!(
        "{}zitadel_passkey_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = deps.join(&name);
    assert!(
        path.is_file(),
        "{} is missing: cargo builds it with the tests",
        path.display()
    );
    path
}

/// A fresh scratch directory under cargo's target tmp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Generates `language` sources from the library into `out_dir`, with the workspace's
/// `uniffi-bindgen` (a package of its own, so cargo runs it rather than building it with this test).
pub fn bindgen(library: &Path, language: &str, out_dir: &Path) {
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "zitadel-passkey-uniffi-bindgen",
            "--",
            "generate",
            "--no-format",
            "--language",
            language,
            "--out-dir",
        ])
        .arg(out_dir)
        .arg(library)
        .stdout(Stdio::null())
        .status()
        .expect("run uniffi-bindgen");
    assert!(status.success(), "uniffi-bindgen failed for {language}");
}

/// Says why a test cannot run: a printed skip, or a failure when `CI` is set.
pub fn skip(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (CI is set, so this is a failure, not a skip; run .ci/install-tools)");
    }
    // Straight to stderr: libtest captures `println!` and `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {reason} (run .ci/install-tools)"
    );
}

/// Whether `program args...` runs and exits successfully.
pub fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The mock the scripts talk to, on its own runtime (kept alive as long as this value).
pub struct Mock {
    pub server: MockServer,
    runtime: tokio::runtime::Runtime,
}

impl Mock {
    /// A strict mock knowing [`TOKEN`] and [`NO_USER_TOKEN`].
    pub fn start() -> Mock {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let server = runtime
            .block_on(
                MockServer::builder()
                    // Sign-in tests poll every second instead of ZITADEL's five.
                    .device_interval(std::time::Duration::from_secs(1))
                    .client_id(CLIENT_ID)
                    .strict(true)
                    .user(TOKEN, USER_ID, ORG_ID)
                    .user(NO_USER_TOKEN, "", ORG_ID)
                    .start(),
            )
            .expect("start the mock");
        Mock { server, runtime }
    }

    /// The environment the scripts read.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ZP_MOCK_URL", self.server.uri()),
            ("ZP_TOKEN", TOKEN.to_owned()),
            ("ZP_USER_ID", USER_ID.to_owned()),
            ("ZP_ORG_ID", ORG_ID.to_owned()),
            ("ZP_NO_USER_TOKEN", NO_USER_TOKEN.to_owned()),
            ("ZP_CLIENT_ID", CLIENT_ID.to_owned()),
        ]
    }

    /// Stops the server.
    pub fn stop(self) {
        let Mock { server, runtime } = self;
        runtime.block_on(server.shutdown());
    }
}

/// Runs `command` to completion within `limit` (killing it after), printing its output, and
/// fails the test if it fails.
pub fn run(what: &str, mut command: Command, limit: Duration) {
    let dir = scratch(&format!("output-{what}"));
    let stdout_path = dir.join("stdout");
    let stderr_path = dir.join("stderr");
    let stdout = std::fs::File::create(&stdout_path).expect("create stdout file");
    let stderr = std::fs::File::create(&stderr_path).expect("create stderr file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    println!("--- {what} stdout ---\n{out}--- {what} stderr ---\n{err}");
    match status {
        None => panic!("{what} did not finish within {limit:?}"),
        Some(status) => assert!(status.success(), "{what} failed: {status}"),
    }
}

/// Fails unless the top-level `README.md` holds `snippet` (a file the test runs) verbatim.
pub fn assert_readme_shows(snippet: &Path) {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("read README.md");
    let code = std::fs::read_to_string(snippet).expect("read the snippet");
    assert!(
        readme.contains(code.trim()),
        "README.md must show {} verbatim",
        snippet.display()
    );
}
