//! The report: one row per measurement (its value, its baseline from the same run, the ratio,
//! the target and whether it is met), printed as a table and written to `BENCHMARKS.md` with a
//! latency plot per transport.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::clients::Variant;
use crate::compare::TransportReport;
use crate::load::LoadFigures;
use crate::measure::median;
use crate::wire::Transport;

/// The mock's resident memory in KiB, as an app's CI sees it (mimalloc's defaults).
#[derive(Debug, Clone, Copy)]
pub struct MemoryFigures {
    pub fresh: u64,
    pub with_idle: u64,
    pub idle_connections: usize,
    /// After one round of `calls` calls.
    pub after_calls: u64,
    pub calls: usize,
}

/// What a row's figure must do to meet its target.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The ratio to the baseline is at most this.
    AtMostRatio(f64),
    /// The ratio to the baseline is at least this.
    AtLeastRatio(f64),
    /// The figure itself (in the row's unit) is at most this.
    AtMostValue(f64),
    /// No target: the figure is reported.
    Reported,
}

/// One measurement.
#[derive(Debug, Clone)]
pub struct Row {
    pub section: &'static str,
    pub what: String,
    /// The figure, formatted, and as a number in the row's unit (for `AtMostValue`).
    pub measured: String,
    pub value: f64,
    /// The baseline and its figure, formatted ("" when there is none).
    pub baseline: String,
    pub ratio: Option<f64>,
    pub target: Target,
    /// Why it could not be measured here, for rows that were not.
    pub missing: Option<String>,
}

impl Row {
    fn new(
        section: &'static str,
        what: impl Into<String>,
        measured: impl Into<String>,
        value: f64,
    ) -> Row {
        Row {
            section,
            what: what.into(),
            measured: measured.into(),
            value,
            baseline: String::new(),
            ratio: None,
            target: Target::Reported,
            missing: None,
        }
    }

    fn against(mut self, baseline: impl Into<String>, ratio: f64) -> Row {
        self.baseline = baseline.into();
        self.ratio = Some(ratio);
        self
    }

    fn target(mut self, target: Target) -> Row {
        self.target = target;
        self
    }

    /// Whether the target is met; `None` for reported figures and missing rows.
    pub fn met(&self) -> Option<bool> {
        if self.missing.is_some() {
            return None;
        }
        match self.target {
            Target::AtMostRatio(limit) => Some(self.ratio? <= limit),
            Target::AtLeastRatio(limit) => Some(self.ratio? >= limit),
            Target::AtMostValue(limit) => Some(self.value <= limit),
            Target::Reported => None,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::AtMostRatio(limit) => format!("≤ {limit:.2}×"),
            Target::AtLeastRatio(limit) => format!("≥ {limit:.2}×"),
            Target::AtMostValue(limit) => format!("≤ {}", unit_of(&self.measured, limit)),
            Target::Reported => "reported".to_owned(),
        }
    }

    fn verdict(&self) -> &'static str {
        match (self.met(), &self.missing) {
            (_, Some(_)) => "not measured",
            (Some(true), _) => "met",
            (Some(false), _) => "NOT MET",
            (None, _) => "",
        }
    }
}

/// A limit written in the unit of the row's figure (`50 µs`, `3.00 MiB`).
fn unit_of(measured: &str, limit: f64) -> String {
    if measured.ends_with("MiB") {
        format!("{limit:.2} MiB")
    } else if measured.ends_with("µs") {
        format!("{limit:.0} µs")
    } else {
        format!("{limit}")
    }
}

/// Every row of a run, and how it was run.
#[derive(Debug)]
pub struct Report {
    quick: bool,
    build: String,
    /// Interleaved rounds of the clients' rows, and of the others.
    rounds: (usize, usize),
    rows: Vec<Row>,
    load_at_start: String,
}

impl Report {
    pub fn new(quick: bool, build: &str, rounds: (usize, usize)) -> Report {
        Report {
            quick,
            build: build.to_owned(),
            rounds,
            rows: Vec::new(),
            load_at_start: load_average(),
        }
    }

    fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// A row that could not be measured in this run, and why.
    pub fn missing(&mut self, what: &str, why: &str) {
        let mut row = Row::new("not measured", what, "—", f64::NAN);
        row.missing = Some(why.to_owned());
        self.push(row);
    }

    /// The in-process client rows: latency against the bare stack, the floor and the peer,
    /// the transports against gRPC, and calls per second.
    pub fn clients(&mut self, reports: &[TransportReport], peer: bool) {
        let grpc = reports.iter().find(|r| r.transport == Transport::Grpc);
        for report in reports {
            let t = report.transport;
            let (Some(sdk), Some(bare)) = (report.latency_of("sdk"), report.latency_of("bare"))
            else {
                continue;
            };
            let bare_name = Variant::Bare.describe(t);
            let grpc_only = |limit: f64| {
                if t == Transport::Grpc {
                    Target::AtMostRatio(limit)
                } else {
                    Target::Reported
                }
            };
            self.push(
                Row::new(
                    "SDK latency",
                    format!("{t} p50, sequential, warm"),
                    micros(median(&sdk.p50)),
                    median(&sdk.p50),
                )
                .against(
                    format!("{bare_name} {}", micros(median(&bare.p50))),
                    ratio_of_rounds(&sdk.p50, &bare.p50),
                )
                .target(grpc_only(1.10)),
            );
            self.push(
                Row::new(
                    "SDK latency",
                    format!("{t} p99, sequential, warm"),
                    micros(median(&sdk.p99)),
                    median(&sdk.p99),
                )
                .against(
                    format!("{bare_name} {}", micros(median(&bare.p99))),
                    ratio_of_rounds(&sdk.p99, &bare.p99),
                )
                .target(grpc_only(1.25)),
            );
            if let Some(floor) = report.latency_of("floor") {
                let (up, down) = report.bytes;
                self.push(
                    Row::new(
                        "SDK latency",
                        format!("{t} p50 over the floor"),
                        micros(median(&sdk.p50)),
                        median(&sdk.p50),
                    )
                    .against(
                        format!(
                            "TCP ping-pong of {up} B / {down} B {}",
                            micros(median(&floor.p50))
                        ),
                        ratio_of_rounds(&sdk.p50, &floor.p50),
                    ),
                );
            }
            if let Some(peer) = report.latency_of("peer") {
                self.push(
                    Row::new(
                        "SDK latency",
                        format!("{t} p50 against the peer"),
                        micros(median(&sdk.p50)),
                        median(&sdk.p50),
                    )
                    .against(
                        format!(
                            "{} {}",
                            Variant::Peer.describe(t),
                            micros(median(&peer.p50))
                        ),
                        ratio_of_rounds(&sdk.p50, &peer.p50),
                    ),
                );
            }
            if t != Transport::Grpc
                && let Some(grpc_sdk) = grpc.and_then(|g| g.latency_of("sdk"))
            {
                let limit = if t == Transport::Json { 1.0 } else { 1.1 };
                self.push(
                    Row::new(
                        "SDK latency",
                        format!("{t} p50 against gRPC"),
                        micros(median(&sdk.p50)),
                        median(&sdk.p50),
                    )
                    .against(
                        format!("SDK grpc {}", micros(median(&grpc_sdk.p50))),
                        ratio_of_rounds(&sdk.p50, &grpc_sdk.p50),
                    )
                    .target(Target::AtMostRatio(limit)),
                );
            }
        }
        for report in reports {
            let t = report.transport;
            let in_flights: Vec<usize> = report
                .throughput
                .iter()
                .filter(|s| s.client == "sdk")
                .map(|s| s.in_flight)
                .collect();
            for in_flight in in_flights {
                let Some(sdk) = report.throughput_of("sdk", in_flight) else {
                    continue;
                };
                let mine = median(&sdk.rounds);
                for (variant, target) in [
                    (Variant::Bare, Target::AtLeastRatio(0.95)),
                    (
                        Variant::Peer,
                        if in_flight <= 32 {
                            Target::AtLeastRatio(1.0)
                        } else {
                            Target::Reported
                        },
                    ),
                ] {
                    if variant == Variant::Peer && !peer {
                        continue;
                    }
                    let Some(other) = report.throughput_of(variant.name(), in_flight) else {
                        continue;
                    };
                    self.push(
                        Row::new(
                            "SDK calls/s",
                            format!("{t}, {in_flight} in flight"),
                            per_second(mine),
                            mine,
                        )
                        .against(
                            format!(
                                "{} {}",
                                variant.describe(t),
                                per_second(median(&other.rounds))
                            ),
                            ratio_of_rounds(&sdk.rounds, &other.rounds),
                        )
                        .target(target),
                    );
                }
            }
        }
        if !peer {
            self.missing(
                "SDK against the zitadel crate",
                "built without the peer-zitadel feature (quick runs leave it out)",
            );
        }
    }

    /// The SDK's sequential latency against h2load's, the best known client.
    pub fn h2load_latency(
        &mut self,
        t: Transport,
        p50: f64,
        p99: f64,
        reports: &[TransportReport],
    ) {
        let Some(sdk) = reports
            .iter()
            .find(|r| r.transport == t)
            .and_then(|r| r.latency_of("sdk"))
        else {
            return;
        };
        let http = if t == Transport::Grpc {
            "HTTP/2"
        } else {
            "HTTP/1.1"
        };
        let mine = median(&sdk.p50);
        self.push(
            Row::new(
                "SDK latency",
                format!("{t} p50 against h2load"),
                micros(mine),
                mine,
            )
            .against(
                format!(
                    "h2load -c1 -m1 ({http}) {} (p99 {})",
                    micros(p50),
                    micros(p99)
                ),
                mine / p50,
            ),
        );
    }

    /// The mock at saturation against a minimal server answering the same bytes.
    pub fn saturation(
        &mut self,
        t: Transport,
        kind: &str,
        tool: &str,
        ours: &[LoadFigures],
        theirs: &[LoadFigures],
    ) {
        let rate = |f: &[LoadFigures]| f.iter().map(|x| x.requests_per_second).collect::<Vec<_>>();
        let p99 = |f: &[LoadFigures]| f.iter().map(|x| x.p99_us).collect::<Vec<_>>();
        let (our_rate, their_rate) = (rate(ours), rate(theirs));
        let (our_p99, their_p99) = (p99(ours), p99(theirs));
        self.push(
            Row::new(
                "mock at saturation",
                format!("{t} requests/s ({tool})"),
                per_second(median(&our_rate)),
                median(&our_rate),
            )
            .against(
                format!("minimal {kind} {}", per_second(median(&their_rate))),
                ratio_of_rounds(&our_rate, &their_rate),
            )
            .target(Target::AtLeastRatio(0.8)),
        );
        self.push(
            Row::new(
                "mock at saturation",
                format!("{t} p99 ({tool})"),
                micros(median(&our_p99)),
                median(&our_p99),
            )
            .against(
                format!("minimal {kind} {}", micros(median(&their_p99))),
                ratio_of_rounds(&our_p99, &their_p99),
            )
            .target(Target::AtMostRatio(1.5)),
        );
    }

    pub fn cold_start(&mut self, sdk_us: f64, bare_us: f64, ratio: f64) {
        self.push(
            Row::new(
                "cold start",
                "process start to first gRPC call",
                micros(sdk_us),
                sdk_us,
            )
            .against(format!("bare tonic {}", micros(bare_us)), ratio)
            .target(Target::AtMostRatio(1.5)),
        );
    }

    pub fn instructions(&mut self, t: Transport, sdk: f64, bare: f64) {
        self.push(
            Row::new(
                "instructions per call",
                format!("{t}, client side"),
                format!("{:.0}k", sdk / 1e3),
                sdk,
            )
            .against(
                format!("{} {:.0}k", Variant::Bare.describe(t), bare / 1e3),
                sdk / bare,
            ),
        );
    }

    pub fn binding_overhead(
        &mut self,
        language: &str,
        binding_us: f64,
        rust_us: f64,
        overhead_us: f64,
        target: Target,
    ) {
        self.push(
            Row::new(
                "bindings",
                format!("{language} call overhead (p50 {})", micros(binding_us)),
                micros(overhead_us),
                overhead_us,
            )
            .against(
                format!("the SDK from Rust, same profile {}", micros(rust_us)),
                binding_us / rust_us,
            )
            .target(target),
        );
    }

    pub fn cdylib_size(&mut self, bytes: u64) {
        let mib = bytes as f64 / (1024.0 * 1024.0);
        self.push(
            Row::new(
                "bindings",
                "stripped cdylib (release-small)",
                format!("{mib:.2} MiB"),
                mib,
            )
            .target(Target::AtMostValue(3.0)),
        );
    }

    /// The memory rows: `figures`, then growth judged on `footprints`, the RSS in KiB after each
    /// round of `figures.calls` calls of a mock that keeps every page it commits (so RSS is its
    /// footprint's high-water mark, see `process::FOOTPRINT_ENV`).
    pub fn memory(&mut self, figures: MemoryFigures, footprints: &[u64]) {
        let MemoryFigures {
            fresh,
            with_idle,
            idle_connections,
            after_calls,
            calls,
        } = figures;
        self.push(Row::new(
            "mock memory",
            "RSS at start",
            kib(fresh),
            fresh as f64,
        ));
        self.push(
            Row::new(
                "mock memory",
                format!("RSS with {idle_connections} idle HTTP/2 connections"),
                kib(with_idle),
                with_idle as f64,
            )
            .against(
                format!("at start {}", kib(fresh)),
                with_idle as f64 / fresh as f64,
            ),
        );
        self.push(Row::new(
            "mock memory",
            format!("RSS after {calls} gRPC calls"),
            kib(after_calls),
            after_calls as f64,
        ));
        // Growth. A footprint only rises when the mock needs more memory than it ever did. With
        // a mock whose stores are bounded it rises fast while they fill and churn, then slower
        // and slower as the heap's fragmentation settles (48 rounds by hand: 1.3 MiB in rounds
        // 2-10, 0.6 in 10-20, 0.2 in 20-30, 0.2 in 30-41, nothing after, on 20 MiB); a leak
        // raises it in proportion to the calls. So the first half of the rounds is the warm-up,
        // and the largest footprint of the second half is set against the footprint at its end:
        // in a full run (24 rounds) 5% of it over 1.2 million calls is about a byte a call.
        let warm_up = footprints.len() / 2;
        if warm_up < 2 {
            return;
        }
        let settled = footprints[warm_up - 1];
        // The second half holds at least as many rounds as the first, so at least two.
        let largest = footprints[warm_up..]
            .iter()
            .copied()
            .max()
            .unwrap_or(settled);
        self.push(
            Row::new(
                "mock memory",
                format!(
                    "footprint (RSS, pages kept, no huge pages) after rounds {}–{} of {calls} calls, largest",
                    warm_up + 1,
                    footprints.len()
                ),
                kib(largest),
                largest as f64,
            )
            .against(
                format!("after round {warm_up} {}", kib(settled)),
                largest as f64 / settled as f64,
            )
            .target(Target::AtMostRatio(1.05)),
        );
    }

    /// Prints the table and writes `BENCHMARKS.md` and the plots into `out`.
    pub fn finish(&self, elapsed: Duration, reports: &[TransportReport], out: &Path) -> Result<()> {
        let table = self.table();
        println!("{table}");
        let plots = out.join("benchmarks");
        std::fs::create_dir_all(&plots)?;
        let mut pictures = String::new();
        for report in reports {
            let name = format!("latency-{}.svg", report.transport);
            crate::plot::latency(report, &plots.join(&name))?;
            writeln!(
                pictures,
                "![{} latency by percentile](benchmarks/{name})\n",
                report.transport
            )?;
        }
        let text = self.markdown(&table, &pictures, elapsed)?;
        let path = out.join("BENCHMARKS.md");
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        let missed = self.rows.iter().filter(|r| r.met() == Some(false)).count();
        eprintln!(
            "{} rows, {missed} targets not met, in {:.0} s",
            self.rows.len(),
            elapsed.as_secs_f64()
        );
        Ok(())
    }

    fn table(&self) -> String {
        let mut text = String::from(
            "| section | measurement | figure | baseline (same run) | ratio | target | |\n",
        );
        text.push_str("|---|---|---|---|---|---|---|\n");
        for row in &self.rows {
            let ratio = row.ratio.map(|r| format!("{r:.2}×")).unwrap_or_default();
            let (measured, target) = match &row.missing {
                Some(why) => (why.clone(), String::new()),
                None => (row.measured.clone(), row.target_text()),
            };
            let _ = writeln!(
                text,
                "| {} | {} | {measured} | {} | {ratio} | {target} | {} |",
                row.section,
                row.what,
                row.baseline,
                row.verdict()
            );
        }
        text
    }

    fn markdown(&self, table: &str, pictures: &str, elapsed: Duration) -> Result<String> {
        let findings = include_str!("../findings.md");
        let mode = if self.quick {
            "a quick smoke pass (`cargo xtask bench --quick`): too few calls for the figures to mean much"
        } else {
            "a full run (`cargo xtask bench`)"
        };
        let mut text = String::new();
        writeln!(text, "# Benchmarks\n")?;
        writeln!(
            text,
            "<!-- Written by `cargo xtask bench`; edit bench/findings.md or bench/src/report.rs instead. -->\n"
        )?;
        writeln!(
            text,
            "This file is {mode}, taking {:.0} s.\n",
            elapsed.as_secs_f64()
        )?;
        writeln!(text, "## Machine\n")?;
        writeln!(text, "- {}", machine())?;
        writeln!(text, "- load average at the start: {}", self.load_at_start)?;
        writeln!(
            text,
            "- built: {}\n",
            if self.build.is_empty() {
                "(not given)"
            } else {
                &self.build
            }
        )?;
        writeln!(text, "## Method\n")?;
        writeln!(
            text,
            "Every figure has its baseline measured in the same run on the same machine, and every \
             ratio is the median of the per-round ratios of interleaved rounds (A B, B A, A B …): {} \
             rounds for the clients' latency and calls/s, {} for the rest. Absolute times on a shared \
             machine drift between runs, and ratios of interleaved rounds do not. Clients and \
             servers run as separate processes on loopback with TCP_NODELAY, on tokio's default \
             multi-threaded runtime, none pinned to a core. Rows and tools:\n",
            self.rounds.0, self.rounds.1
        )?;
        text.push_str(include_str!("../method.md"));
        writeln!(text, "\n## Figures\n")?;
        text.push_str(table);
        writeln!(text, "\n## Latency by percentile\n")?;
        text.push_str(pictures);
        writeln!(text, "## Findings\n")?;
        text.push_str(findings);
        Ok(text)
    }
}

/// The median of per-round ratios of two interleaved series.
fn ratio_of_rounds(ours: &[f64], theirs: &[f64]) -> f64 {
    let ratios: Vec<f64> = ours.iter().zip(theirs).map(|(a, b)| a / b).collect();
    median(&ratios)
}

fn micros(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn per_second(rate: f64) -> String {
    if rate >= 1000.0 {
        format!("{:.1}k/s", rate / 1000.0)
    } else {
        format!("{rate:.0}/s")
    }
}

fn kib(value: u64) -> String {
    format!("{:.1} MiB", value as f64 / 1024.0)
}

/// The CPU, its count and the kernel.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores available, Linux {}", kernel.trim())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_judge_ratios_and_values() {
        let row = Row::new("s", "w", "1 µs", 1.0).against("b", 1.2);
        assert_eq!(
            row.clone().target(Target::AtMostRatio(1.1)).met(),
            Some(false)
        );
        assert_eq!(
            row.clone().target(Target::AtMostRatio(1.25)).met(),
            Some(true)
        );
        assert_eq!(
            row.clone().target(Target::AtLeastRatio(0.95)).met(),
            Some(true)
        );
        assert_eq!(row.clone().met(), None);
        let size = Row::new("s", "w", "2.90 MiB", 2.9).target(Target::AtMostValue(3.0));
        assert_eq!(size.met(), Some(true));
        assert_eq!(size.target_text(), "≤ 3.00 MiB");
        assert_eq!(ratio_of_rounds(&[2.0, 3.0, 4.0], &[1.0, 1.0, 1.0]), 3.0);
    }

    /// The growth row's verdict on rounds of footprints (KiB); `None` if there is no growth row.
    fn growth(footprints: &[u64]) -> Option<bool> {
        let mut report = Report::new(false, "test", (11, 5));
        let figures = MemoryFigures {
            fresh: 30_000,
            with_idle: 40_000,
            idle_connections: 1_000,
            after_calls: 36_000,
            calls: 100_000,
        };
        report.memory(figures, footprints);
        let growth: Vec<&Row> = report
            .rows
            .iter()
            .filter(|row| row.what.contains("footprint"))
            .collect();
        assert!(growth.len() <= 1);
        growth
            .first()
            .map(|row| row.met().expect("a growth row has a target"))
    }

    #[test]
    fn memory_growth_skips_the_settling_half_and_catches_a_leak() {
        // The release mock's footprint (KiB), 48 rounds of 100,000 gRPC calls with pages kept and
        // no huge pages: fast while the stores fill and churn, then slower, then flat.
        let settling: [u64; 48] = [
            20_320, 20_828, 21_076, 21_960, 22_056, 22_056, 22_076, 22_076, 22_140, 22_204, 22_204,
            22_260, 22_260, 22_344, 22_344, 22_344, 22_436, 22_504, 22_564, 22_848, 22_848, 22_848,
            22_916, 22_972, 22_972, 22_972, 22_980, 22_980, 22_980, 23_036, 23_036, 23_036, 23_036,
            23_160, 23_208, 23_208, 23_208, 23_220, 23_220, 23_220, 23_276, 23_276, 23_276, 23_276,
            23_276, 23_276, 23_276, 23_276,
        ];
        assert_eq!(growth(&settling), Some(true));
        // Judged from round 2 on, as the row was, the settling alone would miss the target.
        assert!(settling[47] as f64 / settling[1] as f64 > 1.05);
        // A build of the mock made to leak 8 bytes every third call, measured the same way: it
        // rises with every round (1.48x in the second half of the 48, where the mock as it is
        // reads 1.01x).
        let leaking: [u64; 48] = [
            20_612, 21_524, 22_484, 22_532, 22_616, 22_620, 23_128, 23_192, 23_296, 23_452, 23_628,
            23_868, 24_052, 24_200, 24_444, 24_648, 24_732, 25_040, 25_152, 25_164, 25_364, 25_788,
            26_096, 26_580, 26_684, 27_200, 27_680, 27_856, 28_368, 28_388, 29_160, 31_300, 32_616,
            33_032, 33_904, 34_300, 35_124, 35_820, 36_592, 37_156, 37_536, 37_776, 37_976, 38_456,
            38_716, 39_016, 39_104, 39_424,
        ];
        assert_eq!(growth(&leaking), Some(false));
        // The largest footprint is judged, not the last or a median: a rise in the last rounds
        // shows, and so does one that would fall back.
        let mut late = settling.to_vec();
        late[46] = 24_600;
        assert_eq!(growth(&late), Some(false));
        // A full run's 24 rounds, 12 against 12: the settling mock 1.03x, the leaking one 1.11x.
        assert_eq!(growth(&settling[..24]), Some(true));
        assert_eq!(growth(&leaking[..24]), Some(false));
        // The quick pass's 8 rounds are judged 4 against 4; fewer than 4 rounds are not judged.
        assert_eq!(growth(&settling[..8]), Some(true));
        assert_eq!(growth(&[52_000, 70_000, 70_000]), None);
    }
}
