//! `zp-bench crowd` (run by `cargo xtask load`): many SDK clients at once against one mock
//! process, mixed over the three transports. Every call must succeed and every code must be
//! distinct; the mock's bounds on live codes and journal entries must hold, and its memory must
//! stay steady from one round to the next. Latency and throughput are reported, not judged.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::task::JoinSet;
use tokio::time::Instant;
use zitadel_passkey::{Client, Transport};

use crate::measure::quantile;
use crate::process::Server;

/// The mock's bounds (server-mock's `CODE_CAPACITY` and `JOURNAL_CAPACITY`).
const LIVE_CODE_BOUND: usize = 10_000;
const JOURNAL_BOUND: usize = 10_000;
/// How much the mock's resident memory may grow from the end of round 1 to the end of the last
/// round and still count as steady: the allocator keeps some pages, a leak grows with every call.
const STEADY_GROWTH: f64 = 0.10;

#[derive(Debug, clap::Args)]
pub struct CrowdArgs {
    /// The mock binary to start.
    #[arg(long)]
    mock: PathBuf,
    /// Concurrent clients, each its own `Client` (its own connections), transports in turn.
    // No defaults here: `cargo xtask load` holds them and always passes all three.
    #[arg(long)]
    clients: usize,
    /// Sequential calls per client and round.
    #[arg(long)]
    calls: usize,
    /// Rounds, each with new clients against the same mock.
    #[arg(long)]
    rounds: usize,
}

const TRANSPORTS: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Json];

/// What one client saw in a round.
struct ClientRun {
    transport: Transport,
    latencies_us: Vec<u64>,
    codes: Vec<String>,
    errors: Vec<String>,
}

pub async fn run(args: CrowdArgs) -> Result<()> {
    if args.clients == 0 || args.calls == 0 || args.rounds == 0 {
        bail!("--clients, --calls and --rounds must be at least 1");
    }
    let mock = Server::start(&args.mock, &["--listen", "127.0.0.1:0"]).await?;
    let admin = reqwest::Client::new();
    println!(
        "crowd: {} clients x {} calls x {} rounds against {} (transports in turn: grpc, grpc-web, json)",
        args.clients,
        args.calls,
        args.rounds,
        mock.url()
    );
    println!(
        "{:<6} {:>9} {:>7} {:>10} {:>11} {:>11} {:>11} {:>11} {:>10} {:>10}",
        "round",
        "calls",
        "errors",
        "calls/s",
        "grpc p50/99",
        "web p50/99",
        "json p50/99",
        "all p50/99",
        "live codes",
        "mock RSS"
    );
    let mut codes = HashSet::with_capacity(args.clients * args.calls * args.rounds);
    let (mut collected, mut errors) = (0usize, Vec::new());
    let mut rss_after = Vec::new();
    let mut full_after_round_1 = false;
    for round in 1..=args.rounds {
        let clients = (0..args.clients)
            .map(|i| {
                let transport = TRANSPORTS[i % TRANSPORTS.len()];
                // A token per client: a thousand users of the mock, each with its own sequence.
                let client = Client::builder(mock.url())
                    .transport(transport)
                    .token(format!("crowd-client-{i:05}"))
                    .timeout(Duration::from_secs(60))
                    .build()?;
                Ok((transport, client))
            })
            .collect::<Result<Vec<_>>>()?;
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for (transport, client) in clients {
            let calls = args.calls;
            tasks.spawn(async move { one_client(transport, client, calls).await });
        }
        let mut runs = Vec::with_capacity(args.clients);
        while let Some(run) = tasks.join_next().await {
            runs.push(run.context("a client task panicked")?);
        }
        let elapsed = started.elapsed();

        let mut by_transport: [Vec<u64>; 3] = Default::default();
        let mut round_errors = 0;
        for run in runs {
            let slot = TRANSPORTS
                .iter()
                .position(|t| *t == run.transport)
                .unwrap_or(0);
            by_transport[slot].extend(run.latencies_us);
            collected += run.codes.len();
            codes.extend(run.codes);
            round_errors += run.errors.len();
            errors.extend(run.errors);
        }
        let mut all: Vec<u64> = by_transport.iter().flatten().copied().collect();
        all.sort_unstable();
        for latencies in &mut by_transport {
            latencies.sort_unstable();
        }
        let live_codes = admin_len(&admin, mock.url(), "codes").await?;
        let journal = admin_len(&admin, mock.url(), "journal").await?;
        if live_codes > LIVE_CODE_BOUND || journal > JOURNAL_BOUND {
            bail!(
                "round {round}: the mock holds {live_codes} live codes and {journal} journal \
                 entries (bounds {LIVE_CODE_BOUND} and {JOURNAL_BOUND})"
            );
        }
        if round == 1 {
            full_after_round_1 = live_codes == LIVE_CODE_BOUND;
        }
        let rss = mock.rss_kib().context("the mock's memory (/proc)")?;
        rss_after.push(rss);
        let calls = args.clients * args.calls;
        println!(
            "{:<6} {:>9} {:>7} {:>10.0} {:>11} {:>11} {:>11} {:>11} {:>10} {:>7.1} MiB",
            round,
            calls,
            round_errors,
            calls as f64 / elapsed.as_secs_f64(),
            percentiles(&by_transport[0]),
            percentiles(&by_transport[1]),
            percentiles(&by_transport[2]),
            percentiles(&all),
            live_codes,
            rss as f64 / 1024.0
        );
    }

    let duplicates = collected - codes.len();
    println!(
        "codes: {collected} collected, {} distinct, {duplicates} duplicates; latencies in ms",
        codes.len()
    );
    if let Some(first) = errors.first() {
        bail!("{} calls failed; the first: {first}", errors.len());
    }
    if duplicates > 0 {
        bail!("{duplicates} codes were handed out twice");
    }
    if let (Some(first), Some(last)) = (rss_after.first(), rss_after.last())
        && args.rounds > 1
    {
        let growth = (*last as f64 - *first as f64) / *first as f64;
        println!(
            "mock memory: {:.1} MiB after round 1, {:.1} MiB after round {} ({:+.1}%)",
            *first as f64 / 1024.0,
            *last as f64 / 1024.0,
            args.rounds,
            growth * 100.0
        );
        if !full_after_round_1 {
            // Until the bounds are reached the mock is meant to grow: only a run that fills
            // them in round 1 says anything about a leak.
            println!(
                "  (not judged: round 1 did not fill the mock's {LIVE_CODE_BOUND} live codes)"
            );
        } else if growth > STEADY_GROWTH {
            bail!(
                "the mock's memory grew by {:.1}% between rounds (steady is at most {:.0}%)",
                growth * 100.0,
                STEADY_GROWTH * 100.0
            );
        }
    }
    Ok(())
}

/// `calls` sequential calls on one client; the code of each link is collected.
async fn one_client(transport: Transport, client: Client, calls: usize) -> ClientRun {
    let mut run = ClientRun {
        transport,
        latencies_us: Vec::with_capacity(calls),
        codes: Vec::with_capacity(calls),
        errors: Vec::new(),
    };
    for _ in 0..calls {
        let started = Instant::now();
        match client.add_passkey_link().await {
            Ok(link) => {
                run.latencies_us
                    .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                match code_of(link.url()) {
                    Some(code) => run.codes.push(code),
                    None => run
                        .errors
                        .push(format!("{transport}: a link without a code")),
                }
            }
            Err(error) => run.errors.push(format!("{transport}: {error}")),
        }
    }
    run
}

/// The `code` query value of a link.
fn code_of(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
}

/// The number of entries an admin list (`/__mock/codes`, `/__mock/journal`) holds.
async fn admin_len(admin: &reqwest::Client, base: &str, list: &str) -> Result<usize> {
    let entries: Vec<serde_json::Value> = admin
        .get(format!("{base}/__mock/{list}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .with_context(|| format!("/__mock/{list}"))?;
    Ok(entries.len())
}

/// `p50/p99` in milliseconds.
fn percentiles(sorted: &[u64]) -> String {
    if sorted.is_empty() {
        return "-".to_owned();
    }
    format!(
        "{:.1}/{:.1}",
        quantile(sorted, 0.50) as f64 / 1000.0,
        quantile(sorted, 0.99) as f64 / 1000.0
    )
}
