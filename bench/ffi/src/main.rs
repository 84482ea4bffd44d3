//! `ffi-calls URL TRANSPORT CALLS ROUNDS`: the calls `bench/python/binding_calls.py` makes, made
//! from Rust in the library's own profile, two ways in turn: through the bindings crate's
//! `PasskeyClient` (everything the bindings do except crossing into another language) and with
//! the SDK's `Client` directly (no bindings at all). Prints one JSON line: per round, the median
//! call of each, in microseconds (`p50_us` through the bindings crate, `sdk_p50_us` direct).

use std::future::Future;
use std::time::Instant;

use zitadel_passkey_ffi::{ClientConfig, PasskeyClient, Transport};

const TOKEN: &str = "bench-token-0123456789";

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, transport, calls, rounds] = args.as_slice() else {
        return Err("usage: ffi-calls URL TRANSPORT CALLS ROUNDS".into());
    };
    let (transport, sdk_transport) = match transport.as_str() {
        "grpc" => (Transport::Grpc, zitadel_passkey::Transport::Grpc),
        "grpc-web" => (Transport::GrpcWeb, zitadel_passkey::Transport::GrpcWeb),
        "json" => (Transport::Json, zitadel_passkey::Transport::Json),
        other => return Err(format!("unknown transport {other:?}").into()),
    };
    let (calls, rounds): (usize, usize) = (calls.parse()?, rounds.parse()?);
    let config = ClientConfig {
        endpoint: url.clone(),
        transport,
        org_id: None,
        timeout: None,
        connect_timeout: None,
        accept_language: None,
        allow_insecure_http: false,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let (bindings, sdk) = runtime.block_on(async {
        let bindings = PasskeyClient::with_token(config, TOKEN.to_owned())?;
        let sdk = zitadel_passkey::Client::builder(url)
            .transport(sdk_transport)
            .token(TOKEN)
            .build()?;
        let through_bindings = || async {
            bindings
                .add_passkey_link(None)
                .await
                .map(drop)
                .map_err(Failure::from)
        };
        let direct = || async {
            sdk.add_passkey_link()
                .await
                .map(drop)
                .map_err(Failure::from)
        };
        median_call(&through_bindings, calls / 4 + 10).await?;
        median_call(&direct, calls / 4 + 10).await?;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            a.push(median_call(&through_bindings, calls).await?);
            b.push(median_call(&direct, calls).await?);
        }
        Ok::<_, Failure>((a, b))
    })?;
    let list = |values: &[f64]| {
        values
            .iter()
            .map(|m| format!("{m:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{{\"p50_us\": [{}], \"sdk_p50_us\": [{}]}}",
        list(&bindings),
        list(&sdk)
    );
    Ok(())
}

/// `calls` sequential calls: the median's microseconds.
async fn median_call<F, Fut>(call: &F, calls: usize) -> Result<f64, Failure>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await?;
        samples.push(started.elapsed().as_nanos());
    }
    samples.sort_unstable();
    Ok(samples[samples.len() / 2] as f64 / 1000.0)
}
