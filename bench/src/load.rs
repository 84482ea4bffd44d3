//! The external load generators: h2load (nghttp2) for HTTP/2 and for the best-known-client
//! latency, wrk for HTTP/1.1 saturation. Both are C programs from Debian's packages.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::measure::quantile;
use crate::process::output;
use crate::wire::{TOKEN, Transport};

/// What a load run gave.
#[derive(Debug, Clone, Copy)]
pub struct LoadFigures {
    pub requests_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// `h2load` with `connections` × `streams` in flight for `requests` requests (HTTP/1.1 with
/// `--h1` for gRPC-web and REST), percentiles from its per-request log.
pub async fn h2load(
    url: &str,
    transport: Transport,
    requests: usize,
    connections: usize,
    streams: usize,
    scratch: &Path,
) -> Result<LoadFigures> {
    let (content_type, path, body) = transport.request();
    let body_file = scratch.join(format!("body-{transport}"));
    std::fs::write(&body_file, body)?;
    let log = scratch.join(format!("h2load-{transport}.log"));
    let mut args = vec![
        "-n".to_owned(),
        requests.to_string(),
        "-c".to_owned(),
        connections.to_string(),
        "-m".to_owned(),
        streams.to_string(),
        "-H".to_owned(),
        format!("content-type: {content_type}"),
        "-H".to_owned(),
        format!("authorization: Bearer {TOKEN}"),
        "-d".to_owned(),
        body_file.display().to_string(),
        format!("--log-file={}", log.display()),
    ];
    if transport == Transport::Grpc {
        args.extend(["-H".to_owned(), "te: trailers".to_owned()]);
    } else {
        args.push("--h1".to_owned());
    }
    args.push(format!("{}{path}", url.trim_end_matches('/')));
    let text = output("h2load", &args).await?;
    let requests_per_second = text
        .lines()
        .find_map(|line| line.strip_prefix("finished in "))
        .and_then(|rest| rest.split(", ").nth(1))
        .and_then(|rate| rate.trim_end_matches(" req/s").parse().ok())
        .with_context(|| format!("no rate in h2load's output: {text}"))?;
    let succeeded = text
        .lines()
        .find(|line| line.starts_with("requests:"))
        .is_some_and(|line| line.contains(&format!("{requests} succeeded")));
    if !succeeded || !text.contains(&format!("{requests} 2xx")) {
        bail!("h2load saw failed requests: {text}");
    }
    let mut times: Vec<u64> = std::fs::read_to_string(&log)?
        .lines()
        .filter_map(|line| line.split('\t').nth(2)?.trim().parse().ok())
        .collect();
    times.sort_unstable();
    Ok(LoadFigures {
        requests_per_second,
        p50_us: quantile(&times, 0.50) as f64,
        p99_us: quantile(&times, 0.99) as f64,
    })
}

/// `wrk` with `connections` keep-alive connections on 2 threads for `seconds`.
pub async fn wrk(
    url: &str,
    transport: Transport,
    connections: usize,
    seconds: u64,
    scratch: &Path,
) -> Result<LoadFigures> {
    let (content_type, path, body) = transport.request();
    let body: String = body.iter().map(|b| format!("\\{b}")).collect();
    let script = scratch.join(format!("wrk-{transport}.lua"));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = \"{body}\"\n\
             wrk.headers[\"content-type\"] = \"{content_type}\"\n\
             wrk.headers[\"authorization\"] = \"Bearer {TOKEN}\"\n"
        ),
    )?;
    let args = vec![
        "-t2".to_owned(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_owned(),
        "-s".to_owned(),
        script.display().to_string(),
        format!("{}{path}", url.trim_end_matches('/')),
    ];
    let text = output("wrk", &args).await?;
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk saw failed requests: {text}");
    }
    let requests_per_second = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
        .with_context(|| format!("no rate in wrk's output: {text}"))?;
    let percentile = |label: &str| -> Result<f64> {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|value| wrk_micros(value.trim()))
            .with_context(|| format!("no {label} latency in wrk's output: {text}"))
    };
    Ok(LoadFigures {
        requests_per_second,
        p50_us: percentile("50%")?,
        p99_us: percentile("99%")?,
    })
}

/// wrk's `812.00us`, `1.23ms`, `2.00s`.
fn wrk_micros(value: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = value.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_units() {
        assert_eq!(super::wrk_micros("812.00us"), Some(812.0));
        assert_eq!(super::wrk_micros("1.50ms"), Some(1500.0));
        assert_eq!(super::wrk_micros("2.00s"), Some(2_000_000.0));
        assert_eq!(super::wrk_micros("fast"), None);
    }
}
