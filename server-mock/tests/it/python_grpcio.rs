//! A client we did not write: Python grpcio with stubs generated from `proto/` by grpcio-tools.
//!
//! Uses `$ZITADEL_MOCK_PYTHON`, else the workspace's `.tools/venv` (made by `.ci/install-tools`),
//! else `python3`. Skips with a reason when grpcio is missing, except under `CI=true`, where it fails.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use zitadel_passkey_mock::MockServer;

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("ZITADEL_MOCK_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_calls_the_mock() {
    let python = python();
    let probe = Command::new(&python)
        .args(["-c", "import grpc, grpc_tools"])
        .output();
    let available = probe.as_ref().is_ok_and(|o| o.status.success());
    if !available {
        let reason = match &probe {
            Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
            Err(error) => error.to_string(),
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but {} has no grpcio/grpcio-tools: {reason}",
                python.display()
            );
        }
        eprintln!(
            "SKIPPED: {} has no grpcio/grpcio-tools ({}); run .ci/install-tools",
            python.display(),
            reason.trim()
        );
        return;
    }

    let mock = MockServer::builder()
        .strict(true)
        .user("py-token", "218000000000000077", "318000000000000077")
        .start()
        .await
        .unwrap();
    mock.add_passkey("218000000000000077", "python key");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("zitadel-mock-py-{}", std::process::id()));
    let script = manifest.join("tests/python/grpcio_client.py");
    let proto = manifest.join("../proto");
    let target = mock.local_addr().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(script)
            .arg(proto)
            .arg(&out)
            .arg(target)
            .output()
            .inspect(|_| {
                let _ = std::fs::remove_dir_all(&out);
            })
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let journal = mock.journal();
    assert!(journal.len() >= 7);
    assert!(
        journal
            .iter()
            .all(|e| e.transport.as_str() == "grpc" && e.http_version == "HTTP/2")
    );
    assert_eq!(mock.outbox().len(), 1);
}
