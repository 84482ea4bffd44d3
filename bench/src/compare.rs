//! The client side of the benchmark, in one process: the SDK and its baselines for every
//! transport against the same server, in interleaved rounds (every client of every transport in
//! turn, round after round), so that a slow moment of a shared machine lands on all of them
//! alike. Sequential latency first, then calls per second at each number in flight.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::clients::{Caller, Variant};
use crate::measure::{self, quantile};
use crate::process::Server;
use crate::relay;
use crate::wire::Transport;

/// What to measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub transports: Vec<Transport>,
    pub variants: Vec<Variant>,
    pub rounds: usize,
    /// Sequential calls per client per round.
    pub latency_calls: usize,
    /// (in flight, calls per client per round).
    pub throughput: Vec<(usize, usize)>,
}

/// Everything one transport gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransportReport {
    pub transport: Transport,
    /// Bytes per SDK call on the wire, client to server and back (measured through a relay).
    pub bytes: (usize, usize),
    pub latency: Vec<Latency>,
    pub throughput: Vec<Throughput>,
}

impl TransportReport {
    pub fn latency_of(&self, client: &str) -> Option<&Latency> {
        self.latency.iter().find(|l| l.client == client)
    }

    pub fn throughput_of(&self, client: &str, in_flight: usize) -> Option<&Throughput> {
        self.throughput
            .iter()
            .find(|t| t.client == client && t.in_flight == in_flight)
    }
}

/// One client's sequential latency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    /// `sdk`, `bare`, `peer` or `floor` (the TCP ping-pong).
    pub client: String,
    /// Per round, microseconds.
    pub p50: Vec<f64>,
    pub p99: Vec<f64>,
    /// The 1st to 99th percentile and the 99.9th of all rounds' samples, microseconds.
    pub curve: Vec<f64>,
}

/// One client's calls per second at `in_flight`, per round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    pub client: String,
    pub in_flight: usize,
    pub rounds: Vec<f64>,
}

/// One client of one transport, and what it measured so far.
struct Contender {
    transport: Transport,
    client: String,
    caller: Arc<Caller>,
    samples: Vec<u64>,
    latency: Latency,
}

pub async fn run(url: &str, plan: &Plan, me: &Path) -> Result<Vec<TransportReport>> {
    // Set everything up first: the byte counts, a ping-pong server per transport, every client
    // connected and warmed.
    let mut floors = Vec::new();
    let mut contenders = Vec::new();
    let mut bytes = Vec::new();
    for &transport in &plan.transports {
        let sizes = relay::bytes_per_call(Variant::Sdk, transport, url).await?;
        eprintln!(
            "  {transport}: {} B up, {} B down per call",
            sizes.0, sizes.1
        );
        bytes.push((transport, sizes));
        let floor = Server::start(
            me,
            &[
                "serve",
                "ping-pong",
                "--request",
                &sizes.0.to_string(),
                "--response",
                &sizes.1.to_string(),
            ],
        )
        .await?;
        let variants = plan
            .variants
            .iter()
            .filter(|v| **v != Variant::Peer || transport == Transport::Grpc);
        for &variant in variants {
            let caller = Caller::connect(variant, transport, url).await?;
            contenders.push(Contender::new(transport, variant.name(), caller));
        }
        let caller = Caller::ping_pong(floor.address(), sizes.0, sizes.1).await?;
        contenders.push(Contender::new(transport, "floor", caller));
        floors.push(floor);
    }

    for contender in &contenders {
        measure::latency(&contender.caller, plan.latency_calls / 4 + 10).await?;
    }
    for round in 0..plan.rounds {
        for at in measure::counterbalanced(round, contenders.len()) {
            let contender = &mut contenders[at];
            let mut samples = measure::latency(&contender.caller, plan.latency_calls).await?;
            samples.sort_unstable();
            contender.latency.p50.push(micros(quantile(&samples, 0.50)));
            contender.latency.p99.push(micros(quantile(&samples, 0.99)));
            contender.samples.extend(samples);
        }
    }

    // Calls per second (the floor is a single connection, so it sits this out).
    let mut throughput: Vec<(Transport, Throughput)> = Vec::new();
    let loaded: Vec<&Contender> = contenders.iter().filter(|c| c.client != "floor").collect();
    for &(in_flight, calls) in &plan.throughput {
        let start = throughput.len();
        for contender in &loaded {
            measure::throughput(&contender.caller, in_flight, calls / 4 + in_flight).await?;
            let series = Throughput {
                client: contender.client.clone(),
                in_flight,
                rounds: vec![],
            };
            throughput.push((contender.transport, series));
        }
        for round in 0..plan.rounds {
            for at in measure::counterbalanced(round, loaded.len()) {
                let (_, series) = &mut throughput[start + at];
                series
                    .rounds
                    .push(measure::throughput(&loaded[at].caller, in_flight, calls).await?);
            }
        }
    }
    drop(floors);

    let mut reports: Vec<TransportReport> = bytes
        .into_iter()
        .map(|(transport, bytes)| TransportReport {
            transport,
            bytes,
            latency: vec![],
            throughput: vec![],
        })
        .collect();
    for report in &mut reports {
        report.throughput = throughput
            .iter()
            .filter(|(t, _)| *t == report.transport)
            .map(|(_, series)| series.clone())
            .collect();
    }
    for contender in contenders {
        let transport = contender.transport;
        let latency = contender.finish();
        if let Some(report) = reports.iter_mut().find(|r| r.transport == transport) {
            report.latency.push(latency);
        }
    }
    Ok(reports)
}

impl Contender {
    fn new(transport: Transport, client: &str, caller: Caller) -> Contender {
        Contender {
            transport,
            client: client.to_owned(),
            caller: Arc::new(caller),
            samples: Vec::new(),
            latency: Latency {
                client: client.to_owned(),
                p50: vec![],
                p99: vec![],
                curve: vec![],
            },
        }
    }

    /// The latency figures with the percentile curve of all rounds' samples.
    fn finish(mut self) -> Latency {
        self.samples.sort_unstable();
        let all = &self.samples;
        self.latency.curve = (1..=99)
            .map(|p| micros(quantile(all, f64::from(p) / 100.0)))
            .chain([micros(quantile(all, 0.999))])
            .collect();
        self.latency
    }
}

fn micros(nanos: u64) -> f64 {
    nanos as f64 / 1000.0
}
