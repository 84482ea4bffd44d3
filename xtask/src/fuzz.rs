//! `cargo xtask fuzz`: builds the libFuzzer targets of `fuzz/` and runs each for a while.
//!
//! Built on the stable toolchain, without cargo-fuzz: cargo-fuzz passes nightly-only flags
//! (`-Zsanitizer`) by default, while the SanitizerCoverage instrumentation libFuzzer needs is
//! reachable through stable `-C passes` and `-C llvm-args`. libFuzzer itself comes from the
//! `libfuzzer-sys` crate. No AddressSanitizer: our crates forbid `unsafe`, so the fuzzer looks
//! for panics, hangs and broken properties, not memory errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project;

/// The flags that make rustc emit libFuzzer's coverage feedback (what cargo-fuzz would pass
/// for `--sanitizer none`), plus `--cfg fuzzing`.
const COVERAGE_FLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// The host triple: an explicit `--target` keeps the instrumented build apart from the normal
/// one (and keeps the flags off build scripts and proc macros).
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// How the targets are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `--release`: the most executions per second, for real runs.
    Optimised,
    /// The dev profile: minutes faster to build, several times slower to run; CI's smoke pass,
    /// which only needs every target to start, replay its seeds and run a few seconds.
    Debug,
}

pub fn run(seconds: u64, only: Option<&str>, merge: bool, build: Build) -> Result<()> {
    let root = project::root();
    let targets: Vec<String> = list_targets(&root)?
        .into_iter()
        .filter(|name| only.is_none_or(|only| name == only))
        .collect();
    if targets.is_empty() {
        bail!("no fuzz target matches {only:?}");
    }
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(&root)
        .env("RUSTFLAGS", COVERAGE_FLAGS)
        .args(["build", "--locked", "-p", "zitadel-passkey-fuzz"])
        .args(["--features", "libfuzzer", "--bins", "--target", TRIPLE]);
    if build == Build::Optimised {
        command.arg("--release");
    }
    let status = command
        .status()
        .context("cargo build of the fuzz targets")?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    let bin = root.join("target").join(TRIPLE).join(match build {
        Build::Optimised => "release",
        Build::Debug => "debug",
    });
    let mut summary = Vec::new();
    for name in &targets {
        summary.push(fuzz_one(&root, &bin, name, seconds, merge)?);
    }
    println!("\ntarget | seconds | executions | exec/s | coverage (edges) | features | corpus");
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// The targets, as the fuzz crate's manifest lists its binaries.
fn list_targets(root: &Path) -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml"))?;
    Ok(manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "zitadel-passkey-fuzz")
        .map(str::to_owned)
        .collect())
}

/// Runs one target for `seconds` from its committed seeds, in a scratch corpus under
/// `target/fuzz/` (so the committed corpus stays small); crashes land in `target/fuzz/<name>/`.
/// With `merge`, the committed corpus is replaced by a minimal set covering what the run found.
fn fuzz_one(root: &Path, bin: &Path, name: &str, seconds: u64, merge: bool) -> Result<String> {
    let seeds = root.join("fuzz/corpus").join(name);
    let work = root.join("target/fuzz").join(name);
    let scratch = work.join("corpus");
    std::fs::create_dir_all(&scratch)?;
    std::fs::create_dir_all(&seeds)?;
    let log = work.join("log.txt");
    println!("fuzzing {name} for {seconds} s (log {})", log.display());
    let output = Command::new(bin.join(name))
        .arg(&scratch)
        .arg(&seeds)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", work.display()))
        .args([
            "-max_len=4096",
            "-timeout=20",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ])
        .output()
        .with_context(|| format!("running {name}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    std::fs::write(&log, stderr.as_bytes())?;
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{name} found a failure (input and log in {}):\n{}",
            work.display(),
            tail.join("\n")
        );
    }
    if merge {
        minimise(bin, name, &seeds, &scratch)?;
    }
    Ok(summary_line(name, seconds, &stderr, &seeds))
}

/// Replaces the committed seeds with libFuzzer's minimal set covering seeds and scratch corpus.
fn minimise(bin: &Path, name: &str, seeds: &Path, scratch: &Path) -> Result<()> {
    let merged: PathBuf = scratch.with_file_name("merged");
    let _ = std::fs::remove_dir_all(&merged);
    std::fs::create_dir_all(&merged)?;
    let status = Command::new(bin.join(name))
        .args(["-merge=1", "-max_len=4096"])
        .arg(&merged)
        .arg(seeds)
        .arg(scratch)
        .output()?
        .status;
    if !status.success() {
        bail!("merging the corpus of {name} failed");
    }
    std::fs::remove_dir_all(seeds)?;
    std::fs::rename(&merged, seeds)?;
    Ok(())
}

/// One row of the summary from libFuzzer's final statistics and last status line.
fn summary_line(name: &str, seconds: u64, stderr: &str, seeds: &Path) -> String {
    let stat = |key: &str| {
        stderr
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .map(|rest| rest.trim().trim_start_matches(':').trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let last_status = stderr
        .lines()
        .rev()
        .find(|line| line.contains(" cov: "))
        .unwrap_or_default();
    let field = |key: &str| {
        last_status
            .split_whitespace()
            .skip_while(|word| *word != key)
            .nth(1)
            .unwrap_or("?")
            .to_owned()
    };
    let corpus = std::fs::read_dir(seeds).map_or(0, Iterator::count);
    format!(
        "{name} | {seconds} | {} | {} | {} | {} | {corpus} seeds",
        stat("stat::number_of_executed_units"),
        stat("stat::average_exec_per_sec"),
        field("cov:"),
        field("ft:"),
    )
}
