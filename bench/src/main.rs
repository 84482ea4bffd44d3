//! `zp-bench`: the benchmark behind `cargo xtask bench`. `run` orchestrates everything; the other
//! subcommands are the processes it starts (a client process, the baseline servers, a cold start,
//! a counted run under callgrind), so that every client and server is its own process, as in real
//! use.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod clients;
mod compare;
mod crowd;
mod load;
mod measure;
#[cfg(feature = "peer-zitadel")]
mod peer;
mod plot;
mod process;
mod relay;
mod report;
mod run;
mod servers;
mod wire;

use clients::{Caller, Variant};
use wire::Transport;

#[derive(Debug, Parser)]
#[command(about = "The zitadel-passkey benchmark (run it with `cargo xtask bench`)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every row of the benchmark: prints the table and writes BENCHMARKS.md.
    Run(run::RunArgs),
    /// The client side against one server: prints the measurements as JSON.
    Compare {
        #[arg(long)]
        url: String,
        /// The plan as JSON (what `run` passes).
        #[arg(long)]
        plan: String,
    },
    /// A baseline server: prints `listening on http://ADDR` and serves until killed.
    Serve {
        #[arg(value_enum)]
        kind: servers::Kind,
        /// The mock whose answer a minimal server repeats.
        #[arg(long)]
        like: Option<String>,
        /// The ping-pong server's bytes per request and per response.
        #[arg(long, default_value_t = 0)]
        request: usize,
        #[arg(long, default_value_t = 0)]
        response: usize,
    },
    /// Starts, connects, makes one call and exits: what the cold-start row times.
    Cold {
        #[arg(long)]
        variant: Variant,
        #[arg(long, default_value = "grpc")]
        transport: Transport,
        #[arg(long)]
        url: String,
    },
    /// Many clients at once against one mock: what `cargo xtask load` runs.
    Crowd(crowd::CrowdArgs),
    /// Makes N calls on a single-threaded runtime, sequentially or with several in flight:
    /// what callgrind counts.
    Calls {
        #[arg(long)]
        variant: Variant,
        #[arg(long)]
        transport: Transport,
        #[arg(long)]
        url: String,
        #[arg(long)]
        calls: usize,
        /// Calls in flight at once (default 1: one after another).
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
    },
}

fn main() -> Result<()> {
    // The bare reqwest baseline is built, like the SDK's, with rustls and no default crypto
    // provider; the SDK passes its own, the baseline uses this one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Run(args) => multi_threaded()?.block_on(run::run(args)),
        Command::Crowd(args) => multi_threaded()?.block_on(crowd::run(args)),
        Command::Compare { url, plan } => {
            let plan: compare::Plan = serde_json::from_str(&plan).context("--plan")?;
            let me = std::env::current_exe()?;
            let reports = multi_threaded()?.block_on(compare::run(&url, &plan, &me))?;
            println!("{}", serde_json::to_string(&reports)?);
            Ok(())
        }
        Command::Serve {
            kind,
            like,
            request,
            response,
        } => multi_threaded()?.block_on(servers::serve(kind, like.as_deref(), (request, response))),
        Command::Cold {
            variant,
            transport,
            url,
        } => multi_threaded()?
            .block_on(async { Caller::connect(variant, transport, &url).await.map(drop) }),
        Command::Calls {
            variant,
            transport,
            url,
            calls,
            in_flight,
        } => {
            // One thread, so that callgrind counts the calls and not the scheduler's stealing.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let caller = std::sync::Arc::new(Caller::connect(variant, transport, &url).await?);
                if in_flight <= 1 {
                    for _ in 0..calls {
                        caller.call().await?;
                    }
                    return Ok(());
                }
                measure::throughput(&caller, in_flight, calls)
                    .await
                    .map(drop)
            })
        }
    }
}

/// tokio's default runtime, as `#[tokio::main]` builds it (a worker per core), for the SDK, the
/// baselines and the servers alike.
fn multi_threaded() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
