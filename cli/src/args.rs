//! The command line: subcommands, flags and their `--help` text (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown in every `--help` (a macro so that `concat!` can join it to the
/// examples at compile time).
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  success
  1  a local failure (e.g. a file could not be written, the embedded mock did not start)
  2  usage: bad flags or arguments, an invalid endpoint
  3  authentication or permission: UNAUTHENTICATED or PERMISSION_DENIED
  4  any other error the server answered with (e.g. NOT_FOUND, FAILED_PRECONDITION)
  5  network failure or timeout (after a timeout the server may still have acted)
  6  outcome unknown: the request may have reached the server, the answer was lost or broken"
    };
}

const LINK_HELP: &str = concat!(
    "Examples:
  # Try it: with no endpoint the embedded mock ZITADEL answers
  zitadel-passkey link

  # A real instance; the token is a user's access token or personal access token
  export ZITADEL_URL=https://my-instance.zitadel.cloud
  export ZITADEL_TOKEN=...
  zitadel-passkey link

  # The response as canonical proto3 JSON, over REST
  zitadel-passkey link --transport json --output json

  # Also save the QR code as images
  zitadel-passkey link --qr-png link.png --qr-svg link.svg

  # Also open the link in this computer's default browser (to add a passkey here)
  zitadel-passkey link --open

",
    exit_codes!()
);

const SEND_HELP: &str = concat!(
    "Examples:
  zitadel-passkey send
  zitadel-passkey send --endpoint https://my-instance.zitadel.cloud --output json

",
    exit_codes!()
);

const LIST_HELP: &str = concat!(
    "Examples:
  zitadel-passkey list
  zitadel-passkey list --transport grpc-web --output json

",
    exit_codes!()
);

const REMOVE_HELP: &str = concat!(
    "Examples:
  zitadel-passkey list
  zitadel-passkey remove 219263481723674625

",
    exit_codes!()
);

const LOGIN_HELP: &str = concat!(
    "Examples:
  # Once: in ZITADEL, create a Native application with the Device Code grant; its client ID:
  export ZITADEL_URL=https://my-instance.zitadel.cloud
  zitadel-passkey login --client-id 312345678901234567
  # then, with no token:
  zitadel-passkey link

",
    exit_codes!()
);

const LOGOUT_HELP: &str = concat!(
    "Examples:
  zitadel-passkey logout --endpoint https://my-instance.zitadel.cloud

",
    exit_codes!()
);

const MAIN_HELP: &str = concat!(
    "Examples:
  zitadel-passkey link                   # against the embedded mock
  ZITADEL_URL=https://my-instance.zitadel.cloud ZITADEL_TOKEN=... zitadel-passkey link
  zitadel-passkey link --help

",
    exit_codes!()
);

/// Get a one-time passkey registration link (and its QR code) from ZITADEL.
///
/// Someone who already signs in with a passkey on this computer runs `zitadel-passkey link`
/// and scans the QR code with the phone that should get a passkey too.
///
/// Without --endpoint (or ZITADEL_URL) a command runs against an embedded mock ZITADEL,
/// started on a free loopback port for as long as the command runs.
#[derive(Debug, Parser)]
#[command(name = "zitadel-passkey", version, after_help = MAIN_HELP)]
pub(crate) struct Cli {
    /// Log each call (method, transport, attempts, outcome; never tokens or codes) on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a passkey registration link for the token's user and show it with a QR code.
    ///
    /// Calls AddMyPasswordlessLink. Every call creates a new one-time code, so a failed call is
    /// never retried once the request may have reached the server.
    #[command(after_help = LINK_HELP)]
    Link(LinkArgs),
    /// Have ZITADEL e-mail a passkey registration link to the token's user.
    ///
    /// Calls SendMyPasswordlessLink.
    #[command(after_help = SEND_HELP)]
    Send(CommonArgs),
    /// List the token's user's passkeys.
    ///
    /// Calls ListMyPasswordless.
    #[command(after_help = LIST_HELP)]
    List(CommonArgs),
    /// Remove one of the token's user's passkeys by its ID.
    ///
    /// Calls RemoveMyPasswordless.
    #[command(after_help = REMOVE_HELP)]
    Remove(RemoveArgs),
    /// Sign in as yourself (OAuth device authorization) and keep the tokens for the commands above.
    ///
    /// Shows a URL and a code (and a QR code of both) to open on any device, waits until you
    /// allowed it there, and stores the tokens: in the system keyring where one is available,
    /// else in a file only you can read. Then link, send, list and remove use them for this
    /// endpoint when no --token or ZITADEL_TOKEN is given, refreshing them when needed.
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Sign out: revoke the stored tokens at the instance and forget them.
    #[command(after_help = LOGOUT_HELP)]
    Logout(SignInArgs),
}

/// Where to sign in; shared by `login` and `logout`.
#[derive(Debug, Args)]
pub(crate) struct SignInArgs {
    /// The ZITADEL instance, e.g. https://my-instance.zitadel.cloud.
    #[arg(long, env = "ZITADEL_URL", value_name = "URL", required = true)]
    pub endpoint: Option<String>,

    /// Also trust the CA certificates in this PEM file (e.g. a self-hosted instance's private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Allow http:// to a host that is not loopback: the tokens travel unencrypted.
    #[arg(long)]
    pub insecure_http: bool,

    /// Give up on each request after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// `login`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    pub sign_in: SignInArgs,

    /// The client ID of the Native application (with the Device Code grant) in ZITADEL.
    #[arg(long, env = "ZITADEL_CLIENT_ID", value_name = "ID", required = true)]
    pub client_id: Option<String>,

    /// How to draw the QR code of the sign-in URL in the terminal.
    #[arg(long, value_enum, default_value_t = QrStyle::Auto, value_name = "STYLE")]
    pub qr: QrStyle,
}

/// Where to connect and how; shared by every subcommand.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// The ZITADEL instance, e.g. https://my-instance.zitadel.cloud. Without it the embedded
    /// mock is started and called.
    #[arg(long, env = "ZITADEL_URL", value_name = "URL")]
    pub endpoint: Option<String>,

    /// The wire format.
    #[arg(long, value_enum, default_value_t = TransportArg::Grpc, value_name = "TRANSPORT")]
    pub transport: TransportArg,

    /// A user's access token or personal access token (sent as `authorization: Bearer`).
    /// Prefer ZITADEL_TOKEN: command lines are visible to other users of the machine.
    // Hyphen values: a base64url token can start with `-`, and clap's "unexpected argument"
    // error would repeat it.
    #[arg(
        long,
        env = "ZITADEL_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// Send `x-zitadel-orgid: ID` (the organisation must exist).
    #[arg(long, value_name = "ID")]
    pub org_id: Option<String>,

    /// Also trust the CA certificates in this PEM file (e.g. a self-hosted instance's private CA).
    /// The system's roots and Mozilla's are trusted anyway.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Allow http:// to a host that is not loopback: the token travels unencrypted.
    #[arg(long)]
    pub insecure_http: bool,

    /// Give up after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// `text` for people, `json` for the response exactly as canonical proto3 JSON (and nothing
    /// else) on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output: OutputFormat,
}

/// `link`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct LinkArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Also write the QR code of the link to FILE as a PNG image.
    #[arg(long, value_name = "FILE")]
    pub qr_png: Option<PathBuf>,

    /// Also write the QR code of the link to FILE as an SVG image.
    #[arg(long, value_name = "FILE")]
    pub qr_svg: Option<PathBuf>,

    /// How to draw the QR code in the terminal (text output only).
    #[arg(long, value_enum, default_value_t = QrStyle::Auto, value_name = "STYLE")]
    pub qr: QrStyle,

    /// After printing the link, also open it in the default browser (on Linux and the BSDs:
    /// $BROWSER if set, else the desktop's browser, which needs DISPLAY or WAYLAND_DISPLAY).
    /// Without a browser a note says so and the exit code stays 0; the call is not repeated.
    /// On the embedded mock the browser opens the page on localhost, where a real passkey
    /// registration runs, and the command keeps the mock serving until the passkey is
    /// registered, the link is used up or expires, or Ctrl-C.
    #[arg(long)]
    pub open: bool,
}

/// `remove`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The passkey's ID, as `zitadel-passkey list` shows it.
    pub id: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// gRPC over HTTP/2.
    Grpc,
    /// gRPC-web over HTTP/1.1.
    GrpcWeb,
    /// REST/JSON over HTTP/1.1.
    Json,
}

impl From<TransportArg> for zitadel_passkey::Transport {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Grpc => zitadel_passkey::Transport::Grpc,
            TransportArg::GrpcWeb => zitadel_passkey::Transport::GrpcWeb,
            TransportArg::Json => zitadel_passkey::Transport::Json,
        }
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// For people.
    Text,
    /// The response as canonical proto3 JSON.
    Json,
}

/// `--qr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum QrStyle {
    /// `color` when stdout is a terminal (and NO_COLOR is unset), otherwise `plain`.
    Auto,
    /// Black on white whatever the terminal's theme (ANSI colours).
    Color,
    /// No colours; the characters' ink is the dark modules (for light themes and files).
    Plain,
    /// No colours; the characters' ink is the light modules (for dark themes).
    Inverted,
    /// No QR code in the terminal.
    None,
}

/// Parses `--timeout`: a positive number of seconds, at most a day.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err("the timeout must be more than 0 and at most 86400 seconds".to_owned());
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        for bad in ["0", "-1", "NaN", "inf", "x", "100000"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
