//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).

use anyhow::Result;
use clap::{Parser, Subcommand};

mod codegen;
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
    /// Regenerate the Rust code in sdk/src/generated and server-mock/src/generated from proto/.
    Codegen {
        /// Fail (naming the file) when the committed output differs from what proto/ generates.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Codegen { check } => {
            let mode = if check {
                codegen::Mode::Check
            } else {
                codegen::Mode::Write
            };
            codegen::run(mode)
        }
    }
}
