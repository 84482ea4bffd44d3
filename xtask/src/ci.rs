//! `cargo xtask test`: every check CI runs, in the order that fails fastest: format, generated
//! code, clippy, all tests (the contract matrix and the Kotlin binding tests are test
//! targets of the workspace, so they run here without a second build), docs, the bindings'
//! release packages (the Python wheel tested with pytest once installed), the mock's wheel, a
//! publish dry run of the crates, the smoke passes of the benchmark, the load run and the fuzz targets,
//! advisories, and licences, bans and sources.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::project::{self, cargo, cargo_bin};
use crate::{bench, bindings, codegen, fuzz, load, mock_wheel};

/// Seconds per target in CI's fuzz smoke pass.
const FUZZ_SMOKE_SECONDS: u64 = 5;

pub fn run() -> Result<()> {
    let root = project::root();
    let started = Instant::now();

    // The README's one test command sets up what it needs on a fresh machine: the script is
    // idempotent and quick once the tools are in `.tools/`.
    step("tools", || {
        let status = Command::new("bash")
            .current_dir(&root)
            .arg(".ci/install-tools")
            .status()
            .context("running .ci/install-tools")?;
        check(status, ".ci/install-tools")
    })?;
    step("format", || cargo(&root, &["fmt", "--all", "--check"]))?;
    step("generated code is fresh", || {
        codegen::run(codegen::Mode::Check)
    })?;
    step("clippy", || {
        cargo(
            &root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
        )
    })?;
    let mut totals = TestTotals::default();
    step("tests", || totals.run_cargo_test(&root))?;
    step("sdk docs", || {
        let status = Command::new(cargo_bin())
            .current_dir(&root)
            .env("RUSTDOCFLAGS", "-D warnings")
            .args([
                "doc",
                "--no-deps",
                "--locked",
                "-p",
                "zitadel-passkey",
                "-p",
                "zitadel-passkey-mock",
            ])
            .status()?;
        check(status, "cargo doc")
    })?;
    // The size-optimised build of the bindings and their packages (issue: "works on a clean
    // clone"; the stripped library must stay under 4 MiB). Their tests ran above.
    // Python's tests run here, with pytest from the installed wheel.
    step("bindings packages", || {
        bindings::run(&[], bindings::Tests::Run)
    })?;
    // The mock's wheel for CI jobs in other languages, installed into a fresh venv and called
    // (built with the debug profile the tests built; `cargo xtask mock-wheel --release` ships).
    step("mock wheel", || mock_wheel::run(false))?;
    // A publish dry run of the two crates (the full verifying build, about 1.5 min here, is
    // `cargo package -p zitadel-passkey -p zitadel-passkey-mock` by hand).
    step("crates package", || {
        cargo(
            &root,
            &[
                "package",
                "--locked",
                "--no-verify",
                "--allow-dirty",
                "-p",
                "zitadel-passkey",
                "-p",
                "zitadel-passkey-mock",
            ],
        )
    })?;
    // Every row of the benchmark once, with few calls, so that it cannot rot (the full run is
    // `cargo xtask bench`, by hand).
    step("benchmark smoke pass", || bench::run(true))?;
    // A reduced crowd of clients on the same debug builds (the full one is `cargo xtask load`).
    step("load smoke pass", || load::run(load::Crowd::SMOKE, false))?;
    // Every fuzz target built with libFuzzer and run briefly from its seeds (the long runs are
    // `cargo xtask fuzz`, by hand; the committed inputs were already replayed by the tests).
    step("fuzz smoke pass", || {
        fuzz::run(FUZZ_SMOKE_SECONDS, None, false, fuzz::Build::Debug)
    })?;
    step("advisories", || audit(&root))?;
    // No dependency may bring an unaccepted licence, OpenSSL, or a crate from git or elsewhere.
    step("licences and sources", || deny(&root))?;

    eprintln!("\nall checks passed in {:.0?}", started.elapsed());
    // The plain closing line CI reads: the sum over every test binary of the workspace.
    println!(
        "{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    Ok(())
}

/// What `cargo test` reported, summed over its test binaries.
#[derive(Debug, Default)]
struct TestTotals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestTotals {
    /// Runs `cargo test --workspace`, passing its output through and adding up the
    /// `test result: ok. N passed; N failed; N ignored; ...` lines.
    fn run_cargo_test(&mut self, root: &Path) -> Result<()> {
        let mut child = Command::new(cargo_bin())
            .current_dir(root)
            .args(["test", "--workspace", "--locked"])
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("cargo test's stdout")?;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            self.add(&line);
        }
        check(child.wait()?, "cargo test --workspace")
    }

    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

/// `cargo audit` against the offline advisory copy beside the checkout when there is one.
fn audit(root: &Path) -> Result<()> {
    let offline_db = root.join("../shared/advisory-db");
    let mut command = Command::new(cargo_bin());
    command.current_dir(root).arg("audit");
    if offline_db.is_dir() {
        command.arg("--no-fetch").arg("--db").arg(&offline_db);
    }
    let status = command
        .status()
        .context("running cargo audit (install it with `cargo install cargo-audit --locked`)")?;
    check(status, "cargo audit")
}

/// `cargo deny` against deny.toml: licences, bans and sources; cargo-deny itself goes to no
/// network (advisories are cargo-audit's, above). It reads the metadata of every platform's
/// crates, so `cargo fetch` first downloads those that no build here needed; the fetch is a
/// no-op once the cache has them. The inclusion graphs are left out of the log
/// (a plain `cargo deny check` shows them).
fn deny(root: &Path) -> Result<()> {
    cargo(root, &["fetch", "--locked"])?;
    let status = Command::new(cargo_bin())
        .current_dir(root)
        .args([
            "deny",
            "--offline",
            "--locked",
            "check",
            "--show-stats",
            "--hide-inclusion-graph",
            "licenses",
            "bans",
            "sources",
        ])
        .status()
        .context("running cargo deny (install it with `cargo install cargo-deny --locked`)")?;
    check(status, "cargo deny")
}

fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("\n==> {name}");
    let started = Instant::now();
    body().with_context(|| format!("step `{name}` failed"))?;
    eprintln!("==> {name}: ok ({:.1?})", started.elapsed());
    Ok(())
}

fn check(status: std::process::ExitStatus, what: &str) -> Result<()> {
    if !status.success() {
        bail!("{what} exited with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TestTotals;

    #[test]
    fn test_result_lines_add_up() {
        let mut totals = TestTotals::default();
        totals.add("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        totals
            .add("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        totals.add("105 passed, 0 failed, 129 skipped");
        assert_eq!((totals.passed, totals.failed, totals.ignored), (15, 2, 1));
    }
}
