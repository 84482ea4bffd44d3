//! `cargo xtask test`: every check CI runs, in the order that fails fastest: format, generated
//! code, clippy, all tests (the contract matrix and the Kotlin/Python binding tests are test
//! targets of the workspace, so they run here without a second build), docs, the bindings'
//! release packages, the benchmark's smoke pass, and advisories.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{bench, bindings, codegen, project};

pub fn run() -> Result<()> {
    let root = project::root();
    let started = Instant::now();

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
    step("bindings packages", || bindings::run(&[]))?;
    // Every row of the benchmark once, with few calls, so that it cannot rot (the full run is
    // `cargo xtask bench`, by hand).
    step("benchmark smoke pass", || bench::run(true))?;
    step("advisories", || audit(&root))?;

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

fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("\n==> {name}");
    let started = Instant::now();
    body().with_context(|| format!("step `{name}` failed"))?;
    eprintln!("==> {name}: ok ({:.1?})", started.elapsed());
    Ok(())
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(cargo_bin())
        .current_dir(root)
        .args(args)
        .status()?;
    check(status, &format!("cargo {}", args.join(" ")))
}

fn check(status: std::process::ExitStatus, what: &str) -> Result<()> {
    if !status.success() {
        bail!("{what} exited with {status}");
    }
    Ok(())
}

/// The cargo that runs us, so the toolchain stays the same.
fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
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
