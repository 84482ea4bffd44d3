//! `cargo xtask load`: the load run of RELIABILITY.md. Builds the mock and `zp-bench` in release
//! and runs `zp-bench crowd` (bench/src/crowd.rs): 1,000 clients × 100 calls per round, two
//! rounds, against one mock process. CI runs a reduced crowd on the debug builds it already has.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bench;
use crate::project::{self, cargo};

/// How big a crowd is.
#[derive(Debug, Clone, Copy)]
pub struct Crowd {
    pub clients: usize,
    pub calls: usize,
    pub rounds: usize,
}

impl Crowd {
    /// CI's reduced run: enough clients on each transport to find a shared-state bug, in seconds.
    pub const SMOKE: Crowd = Crowd {
        clients: 150,
        calls: 20,
        rounds: 2,
    };
}

/// `release`: the full run's release builds; otherwise the debug builds CI's test step made.
pub fn run(crowd: Crowd, release: bool) -> Result<()> {
    let root = project::root();
    if release {
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
            ],
        )?;
    } else {
        cargo(&root, bench::QUICK_BUILD)?;
    }
    let dir = root
        .join("target")
        .join(if release { "release" } else { "debug" });
    let status = Command::new(dir.join("zp-bench"))
        .current_dir(&root)
        .arg("crowd")
        .arg("--mock")
        .arg(dir.join("zitadel-passkey-mock"))
        .args(["--clients", &crowd.clients.to_string()])
        .args(["--calls", &crowd.calls.to_string()])
        .args(["--rounds", &crowd.rounds.to_string()])
        .status()
        .context("running zp-bench crowd")?;
    if !status.success() {
        bail!("the load run failed ({status})");
    }
    Ok(())
}
