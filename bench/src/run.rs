//! `zp-bench run`: every row of the benchmark, each against its baseline measured in the same
//! run, then the table and `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;

use crate::clients::Variant;
use crate::compare::{Plan, TransportReport};
use crate::load::{self, LoadFigures};
use crate::measure::median;
use crate::process::{FOOTPRINT_ENV, Server, on_path, output};
use crate::report::{MemoryFigures, Report, Target};
use crate::wire::Transport;

/// What `run` needs from the caller (`cargo xtask bench` passes it all).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A smoke pass: a few calls per row, to show every row still measures (under a minute).
    #[arg(long)]
    pub quick: bool,
    /// The mock's binary (`zitadel-passkey-mock`), built in release.
    #[arg(long)]
    pub mock: PathBuf,
    /// Where BENCHMARKS.md and the plots go.
    #[arg(long)]
    pub out: PathBuf,
    /// The Python package dir of `cargo xtask bindings python` (holds `zitadel_passkey/`).
    #[arg(long)]
    pub python_package: Option<PathBuf>,
    /// The Python interpreter.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// The Java class path of the Kotlin benchmark (`bench/kotlin/`, built against the installed
    /// Kotlin package), run with `java`.
    #[arg(long)]
    pub kotlin_classpath: Option<String>,
    /// `ffi-calls`, built with the library's profile.
    #[arg(long)]
    pub ffi_calls: Option<PathBuf>,
    /// The stripped bindings library, for its size.
    #[arg(long)]
    pub cdylib: Option<PathBuf>,
    /// A line on how the binaries were built, for the report.
    #[arg(long, default_value = "")]
    pub build: String,
}

/// How much of everything to do.
struct Sizes {
    rounds: usize,
    plan: Plan,
    h2load_requests: usize,
    saturation_requests: usize,
    wrk_seconds: u64,
    cold_rounds: usize,
    callgrind_calls: (usize, usize),
    binding_calls: usize,
    memory_calls: usize,
    /// Rounds of `memory_calls` calls for the growth row; the first half is the warm-up, the
    /// second half is judged (see `Report::memory`).
    memory_rounds: usize,
    idle_connections: usize,
}

impl Sizes {
    fn new(quick: bool, peer: bool) -> Sizes {
        let mut variants = vec![Variant::Sdk, Variant::Bare];
        if peer {
            variants.push(Variant::Peer);
        }
        let plan = |rounds, latency_calls, throughput| Plan {
            transports: Transport::ALL.to_vec(),
            variants: variants.clone(),
            rounds,
            latency_calls,
            throughput,
        };
        if quick {
            // Enough calls to show that every row still measures, not enough to mean much.
            Sizes {
                rounds: 2,
                plan: plan(2, 50, vec![(1, 50), (32, 320), (256, 1_024)]),
                h2load_requests: 100,
                saturation_requests: 2_000,
                wrk_seconds: 1,
                cold_rounds: 2,
                callgrind_calls: (5, 15),
                binding_calls: 50,
                memory_calls: 10_000,
                memory_rounds: 8,
                idle_connections: 1_000,
            }
        } else {
            Sizes {
                rounds: 5,
                // The clients' rounds are short and many: one client's calls/s move by 10-17% from
                // one round to the next whether a round is 2,500 calls or 20,000 (at 32 in
                // flight), so for the same time eleven rounds give a steadier median than five.
                plan: plan(11, 1_000, vec![(1, 1_000), (32, 9_000), (256, 18_000)]),
                h2load_requests: 3_000,
                saturation_requests: 100_000,
                wrk_seconds: 3,
                cold_rounds: 10,
                callgrind_calls: (50, 550),
                binding_calls: 2_000,
                memory_calls: 100_000,
                // Enough for a leak of about a byte a call to show (see `Report::memory`).
                memory_rounds: 24,
                idle_connections: 1_000,
            }
        }
    }
}

pub async fn run(args: RunArgs) -> Result<()> {
    let me = std::env::current_exe()?;
    let peer = cfg!(feature = "peer-zitadel");
    let sizes = Sizes::new(args.quick, peer);
    let scratch = args.out.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let mut report = Report::new(args.quick, &args.build, (sizes.plan.rounds, sizes.rounds));

    let mock = Server::start(&args.mock, &["--listen", "127.0.0.1:0"]).await?;
    eprintln!("mock at {}", mock.url());

    eprintln!("SDK against its baselines");
    let plan = serde_json::to_string(&sizes.plan)?;
    let text = output(
        &me.display().to_string(),
        &[
            "compare".into(),
            "--url".into(),
            mock.url().into(),
            "--plan".into(),
            plan,
        ],
    )
    .await?;
    let clients: Vec<TransportReport> = serde_json::from_str(&text).context("compare's report")?;
    report.clients(&clients, peer);

    eprintln!("h2load -c1 -m1, the best known client");
    for transport in Transport::ALL {
        let mut p50 = Vec::new();
        let mut p99 = Vec::new();
        for _ in 0..sizes.rounds {
            let figures =
                load::h2load(mock.url(), transport, sizes.h2load_requests, 1, 1, &scratch).await?;
            p50.push(figures.p50_us);
            p99.push(figures.p99_us);
        }
        report.h2load_latency(transport, median(&p50), median(&p99), &clients);
    }

    eprintln!("the mock at saturation against minimal servers");
    saturation(&mut report, &me, &mock, &sizes, &scratch).await?;

    eprintln!("cold start");
    cold_start(&mut report, &me, mock.url(), &sizes).await?;

    eprintln!("instructions per call (callgrind)");
    if on_path("valgrind") {
        for transport in Transport::ALL {
            let sdk = instructions(
                &me,
                Variant::Sdk,
                transport,
                mock.url(),
                sizes.callgrind_calls,
            )
            .await?;
            let bare = instructions(
                &me,
                Variant::Bare,
                transport,
                mock.url(),
                sizes.callgrind_calls,
            )
            .await?;
            report.instructions(transport, sdk, bare);
        }
    } else {
        report.missing("SDK instructions per call", "valgrind is not installed");
    }

    eprintln!("bindings");
    bindings(&mut report, &args, mock.url(), &sizes).await?;
    match &args.cdylib {
        Some(path) => report.cdylib_size(
            std::fs::metadata(path)
                .with_context(|| format!("{}", path.display()))?
                .len(),
        ),
        None => report.missing("stripped cdylib size", "no --cdylib given"),
    }

    eprintln!("mock memory");
    drop(mock);
    memory(&mut report, &args.mock, &sizes, &scratch).await?;

    report.finish(started.elapsed(), &clients, &args.out)?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Requests/s and p99 of the mock and of a minimal server per content type, rounds interleaved.
async fn saturation(
    report: &mut Report,
    me: &Path,
    mock: &Server,
    sizes: &Sizes,
    scratch: &Path,
) -> Result<()> {
    for (transport, kind) in [
        (Transport::Grpc, "tonic"),
        (Transport::GrpcWeb, "tonic-web"),
        (Transport::Json, "axum"),
    ] {
        let minimal = Server::start(me, &["serve", kind, "--like", mock.url()]).await?;
        // The mock's figures, then the minimal server's.
        let servers = [mock, &minimal];
        let mut figures: [Vec<LoadFigures>; 2] = [Vec::new(), Vec::new()];
        for round in 0..sizes.rounds {
            for at in crate::measure::counterbalanced(round, servers.len()) {
                let server = servers[at];
                figures[at].push(match transport {
                    Transport::Grpc => {
                        load::h2load(
                            server.url(),
                            transport,
                            sizes.saturation_requests,
                            4,
                            25,
                            scratch,
                        )
                        .await?
                    }
                    _ => load::wrk(server.url(), transport, 64, sizes.wrk_seconds, scratch).await?,
                });
            }
        }
        let tool = if transport == Transport::Grpc {
            "h2load -c4 -m25"
        } else {
            "wrk -t2 -c64"
        };
        let [ours, theirs] = figures;
        report.saturation(transport, kind, tool, &ours, &theirs);
    }
    Ok(())
}

/// Process start to the first successful call, SDK and bare client in turn.
async fn cold_start(report: &mut Report, me: &Path, url: &str, sizes: &Sizes) -> Result<()> {
    let mut times = [Vec::new(), Vec::new()];
    let variants = [Variant::Sdk, Variant::Bare];
    for round in 0..sizes.cold_rounds {
        for at in crate::measure::counterbalanced(round, variants.len()) {
            let (variant, times) = (variants[at], &mut times[at]);
            let started = Instant::now();
            output(
                &me.display().to_string(),
                &[
                    "cold".into(),
                    "--variant".into(),
                    variant.name().into(),
                    "--url".into(),
                    url.into(),
                ],
            )
            .await?;
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let ratios: Vec<f64> = times[0].iter().zip(&times[1]).map(|(a, b)| a / b).collect();
    report.cold_start(median(&times[0]), median(&times[1]), median(&ratios));
    Ok(())
}

/// Client-side instructions per call: callgrind's totals for two call counts, differenced, so
/// start-up and connecting cancel out.
async fn instructions(
    me: &Path,
    variant: Variant,
    transport: Transport,
    url: &str,
    (few, many): (usize, usize),
) -> Result<f64> {
    let mut totals = Vec::new();
    for calls in [few, many] {
        let args = vec![
            "--tool=callgrind".into(),
            "--callgrind-out-file=/dev/null".into(),
            me.display().to_string(),
            "calls".into(),
            "--variant".into(),
            variant.name().into(),
            "--transport".into(),
            transport.name().into(),
            "--url".into(),
            url.into(),
            "--calls".into(),
            calls.to_string(),
        ];
        let result = tokio::process::Command::new("valgrind")
            .args(&args)
            .output()
            .await?;
        if !result.status.success() {
            bail!(
                "valgrind failed: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let stderr = String::from_utf8_lossy(&result.stderr);
        let total: f64 = stderr
            .lines()
            .find_map(|line| line.split("Collected :").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("no total in callgrind's output: {stderr}"))?;
        totals.push(total);
    }
    Ok((totals[1] - totals[0]) / (many - few) as f64)
}

/// Python's and Kotlin's sequential calls through the bindings against the SDK's call from Rust
/// in the same profile, and the bindings crate's own share of the difference (its call from
/// Rust), rounds interleaved.
async fn bindings(report: &mut Report, args: &RunArgs, url: &str, sizes: &Sizes) -> Result<()> {
    let (Some(package), Some(ffi_calls)) = (&args.python_package, &args.ffi_calls) else {
        report.missing(
            "Python binding call overhead",
            "no bindings build given (--python-package, --ffi-calls)",
        );
        return Ok(());
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/binding_calls.py");
    let calls = sizes.binding_calls.to_string();
    let (mut python, mut crate_only, mut sdk) = (Vec::new(), Vec::new(), Vec::new());
    let mut kotlin = Vec::new();
    for _ in 0..sizes.rounds {
        if let Some(classpath) = &args.kotlin_classpath {
            let jvm = tokio::process::Command::new("java")
                .args(["-cp", classpath, "BindingCallsKt", url, "grpc", &calls, "1"])
                .output()
                .await?;
            if !jvm.status.success() {
                bail!(
                    "the Kotlin benchmark failed: {}",
                    String::from_utf8_lossy(&jvm.stderr)
                );
            }
            kotlin.push(first(&String::from_utf8_lossy(&jvm.stdout), "p50_us")?);
        }
        let py = tokio::process::Command::new(&args.python)
            .arg(&script)
            .args([url, "grpc", &calls, "1"])
            .env("PYTHONPATH", package)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .await?;
        if !py.status.success() {
            bail!(
                "the Python benchmark failed: {}",
                String::from_utf8_lossy(&py.stderr)
            );
        }
        python.push(first(&String::from_utf8_lossy(&py.stdout), "p50_us")?);
        let rs = output(
            &ffi_calls.display().to_string(),
            &[url.into(), "grpc".into(), calls.clone(), "1".into()],
        )
        .await?;
        crate_only.push(first(&rs, "p50_us")?);
        sdk.push(first(&rs, "sdk_p50_us")?);
    }
    let overheads: Vec<f64> = python.iter().zip(&sdk).map(|(p, r)| p - r).collect();
    report.binding_overhead(
        "Python",
        median(&python),
        median(&sdk),
        median(&overheads),
        Target::AtMostValue(50.0),
    );
    if kotlin.is_empty() {
        report.missing(
            "Kotlin binding call overhead",
            "no --kotlin-classpath (the Kotlin package or mvn is missing)",
        );
    } else {
        let overheads: Vec<f64> = kotlin.iter().zip(&sdk).map(|(k, r)| k - r).collect();
        report.binding_overhead(
            "Kotlin",
            median(&kotlin),
            median(&sdk),
            median(&overheads),
            Target::Reported,
        );
    }
    let crate_overheads: Vec<f64> = crate_only.iter().zip(&sdk).map(|(p, r)| p - r).collect();
    report.binding_overhead(
        "bindings crate from Rust",
        median(&crate_only),
        median(&sdk),
        median(&crate_overheads),
        Target::Reported,
    );
    Ok(())
}

/// The first figure of `key` in a benchmark script's JSON line.
fn first(text: &str, key: &str) -> Result<f64> {
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).with_context(|| format!("not JSON: {text}"))?;
    value[key][0]
        .as_f64()
        .with_context(|| format!("no {key} in {text}"))
}

/// The mock's resident memory: fresh, with idle HTTP/2 connections open, and after a round of
/// calls; then, on a second mock that keeps every page it commits ([`FOOTPRINT_ENV`]), its
/// footprint after each of `sizes.memory_rounds` rounds of calls.
async fn memory(
    report: &mut Report,
    mock_binary: &Path,
    sizes: &Sizes,
    scratch: &Path,
) -> Result<()> {
    let round_of_calls = async |mock: &Server| {
        load::h2load(
            mock.url(),
            Transport::Grpc,
            sizes.memory_calls,
            4,
            25,
            scratch,
        )
        .await
    };
    let mock = Server::start(mock_binary, &["--listen", "127.0.0.1:0"]).await?;
    let rss = |mock: &Server, label: &str| {
        mock.rss_kib()
            .with_context(|| format!("the mock's RSS ({label})"))
    };
    let fresh = rss(&mock, "fresh")?;
    let mut idle = Vec::new();
    for _ in 0..sizes.idle_connections {
        let mut stream = tokio::net::TcpStream::connect(mock.address()).await?;
        // The HTTP/2 preface and an empty SETTINGS frame: a real, idle h2c connection.
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await?;
        idle.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_idle = rss(&mock, "idle connections")?;
    drop(idle);
    tokio::time::sleep(Duration::from_millis(500)).await;
    round_of_calls(&mock).await?;
    let after_calls = rss(&mock, "after calls")?;
    drop(mock);

    let mock =
        Server::start_with_env(mock_binary, &["--listen", "127.0.0.1:0"], &FOOTPRINT_ENV).await?;
    let mut footprints = Vec::with_capacity(sizes.memory_rounds);
    for _ in 0..sizes.memory_rounds {
        round_of_calls(&mock).await?;
        footprints.push(rss(&mock, "footprint")?);
    }
    report.memory(
        MemoryFigures {
            fresh,
            with_idle,
            idle_connections: sizes.idle_connections,
            after_calls,
            calls: sizes.memory_calls,
        },
        &footprints,
    );
    Ok(())
}
