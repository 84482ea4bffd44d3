//! `cargo xtask mock-wheel [--release]`: the mock as a Python wheel carrying only its binary
//! (maturin `bindings = "bin"`, `server-mock/pyproject.toml`), so that a Python, Node or Java CI
//! job gets it with `pip install` and no Rust toolchain. The wheel is installed into a fresh venv
//! and its command answers a real call there. CI builds it with the debug profile its tests
//! already built (the packaging is what it checks); `--release` makes the wheel to ship.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::mock_process::MockProcess;
use crate::project::{self, fresh_venv, run_ok, single_entry, tools_python_or_skip};

pub fn run(release: bool) -> Result<()> {
    let root = project::root();
    let Some(tools) = tools_python_or_skip(&root, "the mock's wheel")? else {
        return Ok(());
    };
    let out = root.join("target/wheels/mock");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let built = out.join("built");
    let profile = if release { "release" } else { "dev" };
    run_ok(
        Command::new(&tools)
            .current_dir(root.join("server-mock"))
            .args([
                "-m",
                "maturin",
                "build",
                "--locked",
                "--quiet",
                "--profile",
                profile,
            ])
            .arg("--out")
            .arg(&built),
        "maturin build (the mock)",
    )?;
    let wheel = single_entry(&built, ".whl")?;
    println!(
        "mock wheel ({profile}): {} ({} bytes)",
        wheel.display(),
        std::fs::metadata(&wheel)?.len()
    );

    let venv = out.join("venv");
    fresh_venv(&venv, &[wheel.as_os_str()])?;
    answers_a_call(&venv.join("bin/zitadel-passkey-mock"))
}

/// Starts the installed command on a free port and creates a link over REST with curl (an
/// independent client), as a CI job in another language would.
fn answers_a_call(command: &Path) -> Result<()> {
    let mock = MockProcess::start(command, &[])?;
    let url = mock.url();
    let answer = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-X", "POST"])
        .args(["-H", "Authorization: Bearer wheel-check-token-0123456789"])
        .args(["-H", "Content-Type: application/json", "-d", "{}"])
        .arg(format!("{url}/auth/v1/users/me/passwordless/_link"))
        .output()
        .context("running curl")?;
    let body = String::from_utf8_lossy(&answer.stdout);
    if !answer.status.success() || !body.contains("/ui/login/login/passwordless/init?") {
        bail!("the installed mock did not create a link: {body}");
    }
    println!("the installed mock answered AddMyPasswordlessLink at {url}");
    Ok(())
}
