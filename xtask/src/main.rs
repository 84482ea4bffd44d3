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
mod project;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "zitadel-passkey project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the Rust code in sdk/src/generated and server-mock/src/generated, and the grpc-go
    /// peer's Go code in tests/peers/grpc-go/gen, from proto/.
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
    },
    /// Run every check CI runs: fmt, codegen --check, clippy, tests (contract matrix and binding
    /// tests included), docs, bindings packages, the benchmark smoke pass, cargo audit.
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
        Command::Bindings { languages } => bindings::run(&languages),
        Command::Bench { quick } => bench::run(quick),
        Command::Fuzz {
            seconds,
            only,
            merge,
        } => fuzz::run(seconds, only.as_deref(), merge),
        Command::Test => ci::run(),
    }
}
