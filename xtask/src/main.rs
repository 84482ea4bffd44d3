//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod bench;
mod bindings;
mod ci;
mod codegen;
mod codegen_go;
mod contract;
mod fuzz;
mod http_rules;
mod load;
mod mobile_layout;
mod mock_process;
mod mock_wheel;
mod openapi;
mod project;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "zitadel-passkey project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the Rust code in sdk/src/generated and server-mock/src/generated, the grpc-go
    /// peer's Go code in tests/peers/grpc-go/gen and the REST surface's docs/openapi.json, from
    /// proto/.
    Codegen {
        /// Fail (naming the file) when the committed output differs from what proto/ generates.
        #[arg(long)]
        check: bool,
    },
    /// Run the contract suite (every scenario over grpc, grpc-web and json) and print its matrix.
    Contract {
        /// Passed to the suite: `--seed N`, `--only TEXT`, `--list`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build zitadel-passkey-ffi (profile release-small) and lay out Kotlin, Swift and Python
    /// packages in target/bindings (all three when none is named).
    Bindings {
        /// The languages to generate.
        #[arg(value_enum)]
        languages: Vec<bindings::Language>,
    },
    /// Benchmark the SDK, the mock and the bindings against their baselines (release builds) and
    /// write BENCHMARKS.md; `--quick` is CI's smoke pass (debug builds, report in target/bench).
    Bench {
        /// A smoke pass of every row, under a minute.
        #[arg(long)]
        quick: bool,
    },
    /// Build the libFuzzer targets of fuzz/ (stable toolchain) and run each from its committed
    /// seeds; prints executions and coverage per target. A failure leaves its input in
    /// target/fuzz/<target>/.
    Fuzz {
        /// How long each target runs.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only this target.
        #[arg(long)]
        only: Option<String>,
        /// Replace the committed seeds with a minimal set covering what the run found.
        #[arg(long)]
        merge: bool,
        /// Build the targets unoptimised (much faster to build, slower to run): CI's smoke pass.
        #[arg(long)]
        debug_build: bool,
    },
    /// Many clients at once against one mock (release builds): every call succeeds, every code
    /// is distinct, the mock's bounds hold and its memory stays steady; prints p50/p99 per
    /// transport. CI runs a reduced crowd.
    Load {
        /// Concurrent clients (transports in turn).
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Sequential calls per client and round.
        #[arg(long, default_value_t = 100)]
        calls: usize,
        /// Rounds against the same mock (memory is compared between them).
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// Run every check CI runs: fmt, codegen --check, clippy, tests (contract matrix and binding
    /// tests included), docs, bindings packages, the benchmark smoke pass, cargo audit.
    /// The mock as a Python wheel (its binary only), installed into a fresh venv and called.
    MockWheel {
        /// Build the binary with the release profile (the wheel to ship); default: dev.
        #[arg(long)]
        release: bool,
    },
    Test,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Codegen { check } => {
            let mode = if check {
                codegen::Mode::Check
            } else {
                codegen::Mode::Write
            };
            codegen::run(mode)
        }
        Command::Contract { args } => contract::run(&args),
        Command::Bindings { languages } => bindings::run(&languages, bindings::Tests::Run),
        Command::Bench { quick } => bench::run(quick),
        Command::Fuzz {
            seconds,
            only,
            merge,
            debug_build,
        } => fuzz::run(
            seconds,
            only.as_deref(),
            merge,
            if debug_build {
                fuzz::Build::Debug
            } else {
                fuzz::Build::Optimised
            },
        ),
        Command::Load {
            clients,
            calls,
            rounds,
        } => load::run(
            load::Crowd {
                clients,
                calls,
                rounds,
            },
            true,
        ),
        Command::MockWheel { release } => mock_wheel::run(release),
        Command::Test => ci::run(),
    }
}
