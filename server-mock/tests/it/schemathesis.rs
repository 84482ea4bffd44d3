//! schemathesis, a property-based API tester we did not write, against the mock with the
//! generated OpenAPI document (`docs/openapi.json`): every check it has (no 5xx, status codes,
//! content types, headers and bodies as documented, error answers included, invalid credentials
//! refused, invalid input rejected), over its coverage, fuzzing and stateful phases.
//!
//! Uses the workspace's `.tools/venv` (made by `.ci/install-tools`). Skips with a reason when
//! schemathesis is missing, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use zitadel_passkey_mock::MockServer;

const TOKEN: &str = "schemathesis-token";
const USER: &str = "218000000000000088";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_openapi_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schemathesis = root.join(".tools/venv/bin/schemathesis");
    if !schemathesis.exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but {} is missing", schemathesis.display());
        }
        eprintln!(
            "SKIPPED: {} is missing; run .ci/install-tools",
            schemathesis.display()
        );
        return;
    }
    // Strict, so that a made-up token is refused (schemathesis checks that it is).
    let mock = MockServer::builder()
        .strict(true)
        .seed(88)
        .user(TOKEN, USER, "318000000000000088")
        .start()
        .await
        .unwrap();
    for name in ["laptop", "phone", "key"] {
        mock.add_passkey(USER, name);
    }
    let reports = std::env::temp_dir().join(format!("zp-schemathesis-{}", std::process::id()));
    let mut command = std::process::Command::new(&schemathesis);
    command
        .arg("run")
        .arg(root.join("docs/openapi.json"))
        .args(["--url", &mock.uri()])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            "40",
            "--seed",
            "20261203",
        ])
        .arg("--no-color")
        .arg("--report-dir")
        .arg(&reports)
        .current_dir(std::env::temp_dir());
    // The mock runs on this runtime's workers while the child process calls it.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&reports);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It must have reached every operation and made many calls.
    assert!(stdout.contains("Tested: 4"), "{stdout}");
    let summary = stdout
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or_default();
    eprintln!("schemathesis: {}", summary.trim());
    let generated: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated >= 200, "only {generated} cases: {stdout}");
    assert!(
        !mock.journal().is_empty(),
        "the mock's journal shows no call"
    );
}
