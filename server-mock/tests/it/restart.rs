//! The binary killed with SIGKILL in the middle of a run and started again on the same port:
//! calls in flight fail as "outcome unknown" or "not sent", none hangs, and the same clients
//! succeed once it is back.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use zitadel_passkey::{Client, ErrorKind, Transport};

use crate::server::spawn;

/// Each call's deadline: a call that takes this long counts as hung.
const DEADLINE: Duration = Duration::from_secs(5);
/// Concurrent call loops per transport.
const LOOPS: usize = 3;

/// What one call did.
#[derive(Debug)]
struct Outcome {
    transport: Transport,
    elapsed: Duration,
    kind: Option<ErrorKind>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_on_the_same_port() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = probe.local_addr().unwrap().to_string();
    drop(probe);
    let (first, uri) = spawn(&["--listen", &listen, "--seed", "7"]);

    let clients: Vec<(Transport, Client)> = [Transport::Grpc, Transport::GrpcWeb, Transport::Json]
        .into_iter()
        .map(|transport| {
            let client = Client::builder(&uri)
                .transport(transport)
                .token("restart-test-token")
                .timeout(DEADLINE)
                .build()
                .unwrap();
            (transport, client)
        })
        .collect();
    for (transport, client) in &clients {
        client
            .add_passkey_link()
            .await
            .unwrap_or_else(|e| panic!("{transport} before the kill: {e}"));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut loops = tokio::task::JoinSet::new();
    for (transport, client) in &clients {
        for _ in 0..LOOPS {
            let (transport, client, stop) = (*transport, client.clone(), stop.clone());
            loops.spawn(async move {
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let result = client.add_passkey_link().await;
                    outcomes.push(Outcome {
                        transport,
                        elapsed: started.elapsed(),
                        kind: result.err().map(|e| e.kind()),
                    });
                }
                outcomes
            });
        }
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut first = first;
    first.0.kill().unwrap(); // SIGKILL on Unix: no graceful shutdown, sockets torn down by the kernel
    first.0.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (second, again) = spawn(&["--listen", &listen, "--seed", "8"]);
    assert_eq!(again, uri, "restarted on another address");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);

    let mut outcomes = Vec::new();
    while let Some(done) = loops.join_next().await {
        outcomes.extend(done.unwrap());
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.kind.is_some()).collect();
    assert!(
        !failed.is_empty(),
        "no call failed: the kill did not land during the run"
    );
    for outcome in &outcomes {
        assert!(
            outcome.elapsed < DEADLINE,
            "a call hung until its deadline: {outcome:?}"
        );
        assert!(
            matches!(
                outcome.kind,
                None | Some(ErrorKind::OutcomeUnknown | ErrorKind::NotSent)
            ),
            "a failure neither unknown nor provably unsent: {outcome:?}"
        );
    }
    for transport in [Transport::Grpc, Transport::GrpcWeb, Transport::Json] {
        let of = |o: &&Outcome| o.transport == transport;
        assert!(
            outcomes.iter().filter(of).any(|o| o.kind.is_none()),
            "{transport}: no call succeeded during the run"
        );
    }

    // The same clients, after the restart: every call succeeds (a broken pooled connection is
    // replaced, never used for a call).
    for (transport, client) in &clients {
        for call in 0..5 {
            client
                .add_passkey_link()
                .await
                .unwrap_or_else(|e| panic!("{transport} call {call} after the restart: {e}"));
        }
    }
    let unknown = failed
        .iter()
        .filter(|o| o.kind == Some(ErrorKind::OutcomeUnknown))
        .count();
    eprintln!(
        "restart: {} calls, {} failed ({unknown} outcome unknown, {} not sent), slowest {:?}",
        outcomes.len(),
        failed.len(),
        failed.len() - unknown,
        outcomes.iter().map(|o| o.elapsed).max().unwrap_or_default()
    );
    drop(second);
}
