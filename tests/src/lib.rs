//! The contract suite: every scenario over every transport (gRPC, gRPC-web, REST/JSON), through
//! the SDK and through independent peers, against the mock and, when `ZITADEL_URL` and
//! `ZITADEL_TOKEN` are set, a real ZITADEL.
//!
//! Run it with `cargo xtask contract` (or `cargo test -p contract-tests`); it prints a matrix with
//! one row per scenario and the columns `grpc`, `grpc-web` and `json`, and fails if any cell
//! failed. Options (after `--`): `--seed N` (the mocks' seed), `--only TEXT` (scenarios whose name
//! contains TEXT), `--list`, `--live-against-mock` (without `ZITADEL_URL`, run the live rows
//! against a strict in-process mock: a self-test of the live code path).

pub mod ctx;
pub mod matrix;
pub mod peers;
pub mod scenarios;
pub mod tap;
pub mod wire;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use zitadel_passkey::Transport;

use crate::ctx::{Ctx, Skip, Target};
use crate::matrix::{COLUMNS, Matrix, Row, Verdict};
use crate::scenarios::{Needs, Scenario};

/// The default seed of the mocks (any fixed value: runs are reproducible).
pub const DEFAULT_SEED: u64 = 20_261_128;

/// The longest a single cell may take before it counts as hung.
const CELL_TIMEOUT: Duration = Duration::from_secs(60);

/// Command-line options of the suite.
#[derive(Debug, Clone)]
pub struct Options {
    /// The mocks' seed.
    pub seed: u64,
    /// Only scenarios whose name contains this.
    pub only: Option<String>,
    /// List the scenarios and exit.
    pub list: bool,
    /// Run the live rows against an in-process strict mock when `ZITADEL_URL` is not set (a
    /// self-test of the live code path, not a substitute for a real instance).
    pub live_against_mock: bool,
    /// libtest's `--ignored`: run only ignored tests, of which the suite has none.
    pub ignored_only: bool,
}

impl Options {
    /// Parses the arguments after `--`; unknown libtest flags (`--nocapture`, ...) are ignored.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            seed: std::env::var("CONTRACT_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_SEED),
            only: None,
            list: false,
            ignored_only: false,
            live_against_mock: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seed" => {
                    let value = args.next().ok_or("--seed needs a value")?;
                    options.seed = value.parse().map_err(|_| format!("bad seed {value:?}"))?;
                }
                "--only" => options.only = Some(args.next().ok_or("--only needs a value")?),
                "--list" => options.list = true,
                "--ignored" => options.ignored_only = true,
                "--live-against-mock" => options.live_against_mock = true,
                // libtest options with a separate value, passed by `cargo test --workspace -- ...`.
                "--test-threads" | "--skip" | "--format" | "--color" | "--logfile"
                | "--shuffle-seed" | "-Z" => {
                    args.next();
                }
                other if other.starts_with('-') => {}
                other => options.only = Some(other.to_owned()),
            }
        }
        Ok(options)
    }
}

/// The live instance from `ZITADEL_URL` and `ZITADEL_TOKEN`, if both are set.
fn live_target() -> Option<Target> {
    let url = std::env::var("ZITADEL_URL")
        .ok()
        .filter(|s| !s.is_empty())?;
    let token = std::env::var("ZITADEL_TOKEN")
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(Target::Live { url, token })
}

/// Runs the suite and prints the matrix; the exit status is non-zero on any failure.
pub fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("contract: {error}");
            return ExitCode::from(2);
        }
    };
    let scenarios: Vec<Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| options.only.as_deref().is_none_or(|o| s.name.contains(o)))
        .collect();
    if options.ignored_only {
        println!("contract: no ignored scenarios");
        return ExitCode::SUCCESS;
    }
    if options.list {
        for s in &scenarios {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("contract: no tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let matrix = runtime.block_on(run(&scenarios, &options));
    println!(
        "\ncontract matrix (seed {}, {:.1?}):\n\n{}",
        options.seed,
        started.elapsed(),
        matrix.render()
    );
    if matrix.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs every scenario against the mock, then against the live instance (or skips those rows).
pub async fn run(scenarios: &[Scenario], options: &Options) -> Matrix {
    let mut matrix = Matrix::default();
    // A cold Go build takes longer than a cell may: build the grpc-go peer first (its rows report
    // a failed build or a missing Go).
    if scenarios.iter().any(|s| s.name.starts_with("peer/grpc-go")) {
        let _ = peers::grpc_go::binary().await;
    }
    for scenario in scenarios {
        let cells = run_row(scenario, None, options).await;
        report(&format!("mock/{}", scenario.name), &cells);
        matrix.push(Row {
            name: format!("mock/{}", scenario.name),
            cells,
        });
    }
    // Kept alive while the live rows run.
    let mut stand_in = None;
    let mut live = live_target();
    if live.is_none() && options.live_against_mock {
        match ctx::standard_builder(options.seed).start().await {
            Ok(mock) => {
                live = Some(Target::Live {
                    url: mock.uri(),
                    token: ctx::TOKEN_A.to_owned(),
                });
                eprintln!("live rows run against a stand-in mock at {}", mock.uri());
                stand_in = Some(mock);
            }
            Err(error) => eprintln!("could not start the stand-in mock: {error}"),
        }
    }
    for scenario in scenarios {
        let name = format!("live/{}", scenario.name);
        let cells = match (&live, scenario.needs) {
            (None, _) => {
                COLUMNS.map(|_| Verdict::Skip("ZITADEL_URL and ZITADEL_TOKEN are not set".into()))
            }
            (Some(_), Needs::Mock(reason)) => COLUMNS.map(|_| Verdict::Skip(reason.into())),
            (Some(target), Needs::Any) => run_row(scenario, Some(target.clone()), options).await,
        };
        report(&name, &cells);
        matrix.push(Row { name, cells });
    }
    drop(stand_in);
    matrix
}

/// One progress line per row, so a hang shows where.
fn report(name: &str, cells: &[Verdict; 3]) {
    let text: Vec<String> = cells
        .iter()
        .zip(COLUMNS)
        .map(|(cell, t)| match cell {
            Verdict::Pass => format!("{t}: pass"),
            Verdict::Skip(_) => format!("{t}: skip"),
            Verdict::Fail(reason) => format!("{t}: FAIL ({reason})"),
        })
        .collect();
    eprintln!("{name}: {}", text.join(", "));
}

/// The three cells of a row, run concurrently, each on its own mock (or on the live target).
async fn run_row(scenario: &Scenario, live: Option<Target>, options: &Options) -> [Verdict; 3] {
    let cells = COLUMNS.map(|transport| run_cell(scenario, transport, live.clone(), options));
    let [a, b, c] = cells;
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}

async fn run_cell(
    scenario: &Scenario,
    transport: Transport,
    live: Option<Target>,
    options: &Options,
) -> Verdict {
    if let Some(reason) = (scenario.skip)(transport) {
        return Verdict::Skip(reason.to_owned());
    }
    let target = match live {
        Some(target) => target,
        None => match ctx::standard_mock(options.seed).await {
            Ok(mock) => Target::Mock(Arc::new(mock)),
            Err(error) => return Verdict::Fail(format!("starting the mock failed: {error:#}")),
        },
    };
    let ctx = Ctx {
        transport,
        target,
        seed: options.seed,
    };
    // A panic (a bug in a scenario or below it) fails the cell rather than the suite.
    let task = tokio::spawn((scenario.run)(ctx));
    match tokio::time::timeout(CELL_TIMEOUT, task).await {
        Err(_) => Verdict::Fail(format!("hung: no result within {CELL_TIMEOUT:?}")),
        Ok(Err(join)) => Verdict::Fail(format!("panicked: {}", panic_message(join))),
        Ok(Ok(Ok(()))) => Verdict::Pass,
        Ok(Ok(Err(error))) => match error.downcast_ref::<Skip>() {
            Some(skip) => Verdict::Skip(skip.0.clone()),
            None => Verdict::Fail(format!("{error:#}")),
        },
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned()),
        Err(join) => join.to_string(),
    }
}

/// Boxes an async scenario function for the table.
pub fn boxed<F>(future: F) -> scenarios::BoxRun
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    future.boxed()
}
