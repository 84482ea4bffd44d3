//! `cargo xtask bench [--quick]`: builds what the benchmark measures and runs `zp-bench run`
//! (bench/). The full run builds in release (the mock and the clients with `--release`, the
//! bindings' library and its Rust twin with `release-small`, as shipped) and writes
//! `BENCHMARKS.md` at the root. `--quick` is CI's smoke pass: debug builds, which the test step
//! has mostly compiled already, few calls, and its report under `target/bench` so that it never
//! replaces the committed figures.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bindings::{self, Language};
use crate::project::{self, cargo};

/// The debug build of the smoke pass. CI's load smoke pass builds exactly this set too, so that
/// cargo unifies the same features and compiles nothing again.
pub const QUICK_BUILD: &[&str] = &[
    "build",
    "--locked",
    "-p",
    "zitadel-passkey-mock",
    "-p",
    "zitadel-passkey-bench",
    "-p",
    "zitadel-passkey-bench-ffi",
];

pub fn run(quick: bool) -> Result<()> {
    let root = project::root();
    let target = root.join("target");
    for tool in ["h2load", "wrk", "valgrind"] {
        if !on_path(tool) {
            bail!(
                "{tool} is missing: install it with `apt-get install nghttp2-client wrk valgrind` \
                 (`.ci/install-tools` does)"
            );
        }
    }

    let (profile_dir, out, build) = if quick {
        cargo(&root, QUICK_BUILD)?;
        (
            target.join("debug"),
            target.join("bench"),
            "debug builds (quick smoke pass)".to_owned(),
        )
    } else {
        // The mock and the clients in one build. Built apart, a hundred crates they share were
        // compiled twice for their different features (about two minutes of a clean clone's
        // build). What the clients add to the mock's dependencies: the client halves of hyper,
        // hyper-util and tonic and more of tower's layers (code the mock never calls), rustls'
        // aws-lc provider (the mock names ring), and tokio's process driver (a flag read when
        // a worker parks).
        cargo(
            &root,
            &[
                "build",
                "--locked",
                "--release",
                "-p",
                "zitadel-passkey-mock",
                "-p",
                "zitadel-passkey-bench",
                "--features",
                "zitadel-passkey-bench/peer-zitadel",
            ],
        )?;
        cargo(
            &root,
            &[
                "build",
                "--locked",
                "--profile",
                "release-small",
                "-p",
                "zitadel-passkey-bench-ffi",
            ],
        )?;
        let build = format!(
            "mock and clients `--release`, bindings `release-small`; {}",
            rustc_version(&root)
        );
        (target.join("release"), root.clone(), build)
    };
    let cdylib = target.join("bindings/lib").join(bindings::dylib_name());
    // The bindings' wheel (unpacked, stripped) and stripped library: CI's bindings step has
    // just made them (and tested them); a full run makes them afresh, untested.
    if !quick || bindings::python_package().is_err() || !cdylib.is_file() {
        bindings::run(&[Language::Python, Language::Kotlin], bindings::Tests::Skip)?;
    }
    let python_package = bindings::python_package()?;
    let kotlin_classpath = kotlin_benchmark(&root)?;
    let ffi_calls = if quick {
        profile_dir.join("ffi-calls")
    } else {
        target.join("release-small/ffi-calls")
    };
    std::fs::create_dir_all(&out)?;

    let mut command = Command::new(profile_dir.join("zp-bench"));
    project::without_cargo_library_path(&mut command)
        .current_dir(&root)
        .arg("run")
        .arg("--mock")
        .arg(profile_dir.join("zitadel-passkey-mock"))
        .arg("--out")
        .arg(&out)
        .arg("--python-package")
        .arg(&python_package)
        .arg("--ffi-calls")
        .arg(&ffi_calls)
        .arg("--cdylib")
        .arg(&cdylib)
        .arg("--build")
        .arg(&build);
    if let Some(classpath) = kotlin_classpath {
        command.arg("--kotlin-classpath").arg(classpath);
    }
    if quick {
        command.arg("--quick");
    }
    let status = command.status().context("running zp-bench")?;
    if !status.success() {
        bail!("zp-bench exited with {status}: a row could not be measured");
    }
    Ok(())
}

/// Builds the Kotlin benchmark (`bench/kotlin/`) against the Kotlin package in the local Maven
/// repository, as an app depends on it; returns its class path. `None`, with a note, without
/// `mvn` (outside CI).
fn kotlin_benchmark(root: &Path) -> Result<Option<String>> {
    if !on_path("mvn") {
        if std::env::var_os("CI").is_some() {
            bail!("mvn is missing (CI is set)");
        }
        eprintln!("note: no mvn on PATH: the Kotlin binding row is left out");
        return Ok(None);
    }
    let classpath_file = root.join("target/bench/kotlin-classpath.txt");
    let status = Command::new("mvn")
        .args(["-B", "-q", "-f"])
        .arg(root.join("bench/kotlin/pom.xml"))
        .args(["package", "dependency:build-classpath"])
        .arg(format!("-Dmdep.outputFile={}", classpath_file.display()))
        .status()
        .context("running mvn for the Kotlin benchmark")?;
    if !status.success() {
        bail!(
            "building the Kotlin benchmark failed: {status} (it needs the Kotlin package installed: `cargo xtask bindings kotlin`)"
        );
    }
    let dependencies = std::fs::read_to_string(&classpath_file)
        .with_context(|| format!("reading {}", classpath_file.display()))?;
    let jar = root.join("target/bench/kotlin-maven/zitadel-passkey-bench-kotlin-0.1.0.jar");
    Ok(Some(format!("{}:{}", jar.display(), dependencies.trim())))
}

fn rustc_version(root: &Path) -> String {
    Command::new("rustc")
        .current_dir(root)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
