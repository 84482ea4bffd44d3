//! A byte-counting TCP relay: how many bytes one call puts on the wire each way, so the TCP
//! ping-pong floor moves exactly as many.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::clients::{Caller, Variant};
use crate::wire::Transport;

#[derive(Debug, Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
}

/// Bytes per call (client to server, server to client) of `variant` over `transport`, on a warm
/// connection: the mean over 100 calls after 10 warm ones.
pub async fn bytes_per_call(
    variant: Variant,
    transport: Transport,
    target: &str,
) -> Result<(usize, usize)> {
    let target_address = target
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let counters = Arc::new(Counters::default());
    let accepting = {
        let counters = counters.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target_address).await else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(copy(client_read, server_write, counters.clone(), true));
                tokio::spawn(copy(server_read, client_write, counters.clone(), false));
            }
        })
    };
    let caller = Caller::connect(variant, transport, &url).await?;
    for _ in 0..10 {
        caller.call().await?;
    }
    let (up, down) = (
        counters.up.load(Ordering::SeqCst),
        counters.down.load(Ordering::SeqCst),
    );
    const CALLS: u64 = 100;
    for _ in 0..CALLS {
        caller.call().await?;
    }
    let up = (counters.up.load(Ordering::SeqCst) - up) / CALLS;
    let down = (counters.down.load(Ordering::SeqCst) - down) / CALLS;
    accepting.abort();
    Ok((up as usize, down as usize))
}

async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    counters: Arc<Counters>,
    up: bool,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let counter = if up { &counters.up } else { &counters.down };
        counter.fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
