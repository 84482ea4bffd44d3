//! `cargo xtask contract`: runs the contract suite (`tests/`, package `contract-tests`, its
//! `contract` test target) and shows its matrix: one row per scenario, columns `grpc`,
//! `grpc-web`, `json`. Fails when any cell failed.
//!
//! The suite is a `harness = false` test target, so `cargo test --workspace` runs it too (no
//! second build); this command runs just that target. Arguments after `contract` go to the suite:
//! `--seed N`, `--only TEXT`, `--list`. `ZITADEL_URL` and `ZITADEL_TOKEN` add the live rows.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project;

pub fn run(args: &[String]) -> Result<()> {
    let root = project::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "test",
            "--package",
            "contract-tests",
            "--test",
            "contract",
            "--",
        ])
        .args(args)
        .status()
        .context("running cargo test -p contract-tests")?;
    if !status.success() {
        bail!(
            "the contract matrix has failures (see the notes above), or it did not build: {status}"
        );
    }
    Ok(())
}
