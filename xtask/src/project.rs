//! Paths of the workspace, found from this crate's manifest so xtask works from any directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that runs us, so that every build uses the same toolchain.
pub fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Runs `cargo ARGS` in `root`; fails unless it succeeds.
pub fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    run_ok(
        Command::new(cargo_bin()).current_dir(root).args(args),
        &format!("cargo {}", args.join(" ")),
    )
}

/// `.tools/venv`'s python when it has maturin and wheel (`.ci/install-tools` puts them there).
/// Without it, `what` is skipped with a printed line, or fails when `CI` is set.
pub fn tools_python_or_skip(root: &Path, what: &str) -> Result<Option<PathBuf>> {
    let python = root.join(".tools/venv/bin/python");
    let usable = Command::new(&python)
        .args(["-c", "import maturin, wheel"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if usable {
        return Ok(Some(python));
    }
    if std::env::var_os("CI").is_some() {
        bail!(
            "{what}: the Python tools are missing (.tools/venv with maturin and wheel; run .ci/install-tools)"
        );
    }
    println!("skipped: {what} (no .tools/venv with maturin and wheel; run .ci/install-tools)");
    Ok(None)
}

/// A fresh venv at `venv` with `packages` (wheel files or requirements) installed by pip, as a
/// user installs them; returns its python.
pub fn fresh_venv(venv: &Path, packages: &[&std::ffi::OsStr]) -> Result<PathBuf> {
    run_ok(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        "python3 -m venv",
    )?;
    let python = venv.join("bin/python");
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages),
        "pip install",
    )?;
    Ok(python)
}

/// The one entry of `dir` whose name ends with `suffix`.
pub fn single_entry(dir: &Path, suffix: &str) -> Result<PathBuf> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    match entries.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "expected one *{suffix} in {}, found {}",
            dir.display(),
            entries.len()
        ),
    }
}

/// Runs `command` to success.
pub fn run_ok(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed: {status}");
    }
    Ok(())
}

/// `command` without the library search path that cargo gave this process. `cargo run`, and so
/// `cargo xtask`, puts `target/<profile>/deps` on it, where JNA looks before a jar's own
/// resources: the Kotlin tests and the Kotlin benchmark row would load the debug library cargo
/// built for the Rust tests instead of the one in the package (measured: a 970 µs call against
/// 310 µs from the jar). For every JVM this starts, directly (mvn) or through `zp-bench` (java).
pub fn without_cargo_library_path(command: &mut Command) -> &mut Command {
    for variable in [
        "LD_LIBRARY_PATH",
        "DYLD_LIBRARY_PATH",
        "DYLD_FALLBACK_LIBRARY_PATH",
    ] {
        command.env_remove(variable);
    }
    command
}
