//! A gRPC peer: Python grpcio with stubs generated at test time from `proto/` by grpcio-tools.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

/// The Python to use: `$CONTRACT_PYTHON`, else the workspace's `.tools/venv`, else `python3`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("CONTRACT_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = workspace().join(".tools/venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Whether grpcio and grpcio-tools import; the reason when not.
pub async fn available() -> Result<(), String> {
    let python = python();
    match tokio::process::Command::new(&python)
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .await
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{} has no grpcio/grpcio-tools ({}); run .ci/install-tools",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )),
        Err(e) => Err(format!("{} does not run ({e})", python.display())),
    }
}

/// Runs `tests/python/grpcio_peer.py` against `target` (`host:port`) with `token`.
pub async fn check(target: &str, token: &str, user_id: &str, org_id: &str) -> Result<()> {
    let out_dir = std::env::temp_dir().join(format!(
        "contract-grpcio-{}-{}",
        std::process::id(),
        target.replace([':', '.'], "-")
    ));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/grpcio_peer.py");
    let output = tokio::process::Command::new(python())
        .arg(&script)
        .arg(workspace().join("proto"))
        .arg(&out_dir)
        .arg(target)
        .arg(user_id)
        .arg(org_id)
        .env("CONTRACT_TOKEN", token)
        .kill_on_drop(true)
        .output()
        .await
        .context("running python")?;
    let _ = std::fs::remove_dir_all(&out_dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "the grpcio peer failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
