//! `zitadel-passkey-mock`: the mock ZITADEL as a binary for CI and local development.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use serde::Deserialize;
use zitadel_passkey_mock::{MockServer, MockServerBuilder};

// mimalloc for the binary (the library leaves the choice to its user): a call allocates a few
// dozen small buffers, and glibc's malloc/free were a seventh of the REST path's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A mock ZITADEL for apps that create passkey links: gRPC, gRPC-web and REST/JSON on one port.
///
/// Prints `listening on http://HOST:PORT` on stdout once it accepts connections, and stops
/// gracefully (in-flight calls finish) on SIGINT or SIGTERM. The admin API is under `/__mock/`.
#[derive(Debug, Parser)]
#[command(name = "zitadel-passkey-mock", version, about, long_about)]
struct Args {
    /// Address to listen on, HOST:PORT. Port 0 picks a free port (printed on stdout).
    /// Default 127.0.0.1:8080 (loopback only).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,

    /// A user: bearer token TOKEN belongs to user USER_ID in org ORG_ID. Repeatable.
    /// An empty USER_ID (`TOKEN=@ORG_ID`) is a token without a user.
    // Parsed after clap (`user_specs`): clap's own error for a bad value repeats the value,
    // which holds a token. Hyphen values: a base64url token can start with `-`.
    #[arg(
        long = "user",
        value_name = "TOKEN=USER_ID@ORG_ID",
        allow_hyphen_values = true
    )]
    users: Vec<String>,

    /// Accept only the tokens of --user (and the config file). Without it any well-formed
    /// bearer token is accepted and mapped to a stable user derived from the token.
    #[arg(long)]
    strict: bool,

    /// Seed of the ID and code generator: the same seed and calls give the same IDs and codes.
    /// Default: random.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// How long one-time codes live, in seconds (the `expiration` answered). Default 3600.
    #[arg(long, value_name = "SECONDS")]
    code_ttl: Option<u64>,

    /// Origin of the links, e.g. https://auth.example.com. Default: the scheme and host each
    /// request came in on.
    #[arg(long, value_name = "URL")]
    public_origin: Option<String>,

    /// Let the login page also take a plain form POST (userID, orgID, codeID, code, name; no
    /// WebAuthn credential) that registers a READY passkey, for tests without a browser. The
    /// mock's own extension: ZITADEL's login page has no such path.
    #[arg(long)]
    login_shortcut: bool,

    /// How long the OAuth access tokens of the device authorization flow live, in seconds
    /// (`expires_in`). Default 43200 (12 hours, ZITADEL's).
    #[arg(long, value_name = "SECONDS")]
    token_ttl: Option<u64>,

    /// An OAuth client ID the device authorization flow accepts with --strict. Repeatable.
    /// Without --strict any non-empty client ID is accepted; with --strict and none given, none.
    #[arg(long = "client-id", value_name = "ID")]
    client_ids: Vec<String>,

    /// The polling interval device authorizations start with, in seconds (`interval`; each
    /// `slow_down` adds 5). Default 5, ZITADEL's. The mock's own setting (ZITADEL's interval is
    /// fixed), so that tests need not wait 5 s per poll.
    #[arg(long, value_name = "SECONDS")]
    device_interval: Option<u64>,

    /// A JSON file with any of: {"listen", "users": [{"token", "user_id", "org_id"}], "strict",
    /// "seed", "code_ttl_seconds", "public_origin", "login_shortcut", "fixed_clock",
    /// "token_ttl_seconds", "client_ids", "device_interval_seconds"}. Flags win over the file;
    /// users and client IDs of both are added.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Serve TLS (ALPN h2 and http/1.1) with this PEM certificate chain. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Stop the clock at this RFC 3339 time (byte-identical answers and journals with --seed).
    #[arg(long, value_name = "RFC3339")]
    fixed_clock: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    token: String,
    user_id: String,
    org_id: String,
}

fn parse_user(text: &str) -> Result<UserSpec, String> {
    const FORMAT: &str = "expected TOKEN=USER_ID@ORG_ID";
    let (token, rest) = text.split_once('=').ok_or(FORMAT)?;
    let (user_id, org_id) = rest.rsplit_once('@').ok_or(FORMAT)?;
    if token.is_empty() || org_id.is_empty() {
        return Err(format!("{FORMAT} (TOKEN and ORG_ID must not be empty)"));
    }
    Ok(UserSpec {
        token: token.to_owned(),
        user_id: user_id.to_owned(),
        org_id: org_id.to_owned(),
    })
}

/// The `--user` values, or a usage error (exit 2) that names the flag's position, never its value.
fn user_specs(values: &[String]) -> Result<Vec<UserSpec>, clap::Error> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            parse_user(value).map_err(|e| {
                <Args as clap::CommandFactory>::command().error(
                    clap::error::ErrorKind::ValueValidation,
                    format!("invalid --user value number {}: {e}", i + 1),
                )
            })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<String>,
    #[serde(default)]
    users: Vec<UserSpec>,
    strict: Option<bool>,
    seed: Option<u64>,
    code_ttl_seconds: Option<u64>,
    public_origin: Option<String>,
    login_shortcut: Option<bool>,
    fixed_clock: Option<String>,
    token_ttl_seconds: Option<u64>,
    #[serde(default)]
    client_ids: Vec<String>,
    device_interval_seconds: Option<u64>,
}

fn check_origin(origin: &str) -> anyhow::Result<String> {
    let url =
        url::Url::parse(origin).with_context(|| format!("invalid --public-origin {origin:?}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("--public-origin must be an http(s) origin such as https://auth.example.com");
    }
    Ok(origin.trim_end_matches('/').to_owned())
}

async fn builder(args: Args, users: Vec<UserSpec>) -> anyhow::Result<MockServerBuilder> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str::<ConfigFile>(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => ConfigFile::default(),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let addr = tokio::net::lookup_host(&listen)
        .await
        .with_context(|| format!("invalid --listen {listen:?}"))?
        .next()
        .with_context(|| format!("--listen {listen:?} resolves to no address"))?;

    let mut builder = MockServer::builder()
        .listen(addr)
        .strict(args.strict || file.strict.unwrap_or(false));
    for user in file.users.iter().chain(&users) {
        builder = builder.user(&user.token, &user.user_id, &user.org_id);
    }
    if let Some(seed) = args.seed.or(file.seed) {
        builder = builder.seed(seed);
    }
    if let Some(ttl) = args.code_ttl.or(file.code_ttl_seconds) {
        builder = builder.code_ttl(Duration::from_secs(ttl));
    }
    if let Some(origin) = args.public_origin.or(file.public_origin) {
        builder = builder.public_origin(check_origin(&origin)?);
    }
    builder = builder.login_shortcut(args.login_shortcut || file.login_shortcut.unwrap_or(false));
    if let Some(ttl) = args.token_ttl.or(file.token_ttl_seconds) {
        builder = builder.token_ttl(Duration::from_secs(ttl));
    }
    for client_id in file.client_ids.iter().chain(&args.client_ids) {
        if client_id.is_empty() {
            bail!("--client-id must not be empty");
        }
        builder = builder.client_id(client_id);
    }
    if let Some(interval) = args.device_interval.or(file.device_interval_seconds) {
        builder = builder.device_interval(Duration::from_secs(interval));
    }
    if let Some(clock) = args.fixed_clock.or(file.fixed_clock) {
        let timestamp = zitadel_passkey::wkt::Timestamp::parse(&clock)
            .map_err(|e| anyhow::anyhow!("invalid --fixed-clock {clock:?}: {e}"))?;
        let time = std::time::SystemTime::try_from(timestamp)
            .map_err(|e| anyhow::anyhow!("invalid --fixed-clock {clock:?}: {e}"))?;
        builder = builder.fixed_clock(time);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let cert =
            std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
        let key = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
        builder = builder.tls(cert, key);
    }
    Ok(builder)
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called (not when
/// the future is first polled), so a signal right after the "listening" line is not lost.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let users = user_specs(&args.users).unwrap_or_else(|e| e.exit());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let stop = stop_signal().context("cannot install the signal handlers")?;
    let server = builder(args, users)
        .await?
        .start()
        .await
        .context("cannot start the mock")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.uri())?;
        stdout.flush()?;
    }
    stop.await;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}
