//! Runs a subcommand: connects (to the endpoint or the embedded mock), calls, and renders.

use std::io::IsTerminal as _;
use std::path::Path;

use time::UtcOffset;
use zitadel_passkey::proto::zitadel::auth::v1::{
    ListMyPasswordlessResponse, RemoveMyPasswordlessResponse, SendMyPasswordlessLinkResponse,
};
use zitadel_passkey::{Client, ErrorKind, Transport};
use zitadel_passkey_mock::MockServer;

use crate::args::{Command, CommonArgs, LinkArgs, OutputFormat, QrStyle, SignInArgs};
use crate::failure::{self, Call, Context, Failure};
use crate::journey::Journey;
use crate::output;
use crate::qr::{Qr, Style};
use crate::stderr_line;
use crate::store;

/// The token sent to the embedded mock when none is given (the mock accepts any well-formed
/// token and derives a stable user from it). Not a secret.
pub(crate) const DEMO_TOKEN: &str = "demo-token";

/// What a command produced: stdout text, a link to open in the browser once that text is
/// written (`link --open`), and a failure that came after it (e.g. a QR file could not be
/// written after the link was created and printed).
pub(crate) struct Outcome {
    pub stdout: String,
    pub open: Option<String>,
    pub late_failure: Option<Failure>,
    /// With `--open` on the embedded mock: the mock, kept serving for the browser.
    pub journey: Option<Journey>,
}

/// A connected client, and the embedded mock it talks to (if any), kept alive while it runs.
struct Target {
    client: Client,
    context: Context,
    mock: Option<MockServer>,
}

/// Runs `command`.
pub(crate) async fn run(
    command: Command,
    offset: UtcOffset,
    verbose: bool,
) -> Result<Outcome, Failure> {
    match command {
        Command::Link(args) => link(args, offset, verbose).await,
        Command::Login(args) => crate::sign_in::login(args).await,
        Command::Logout(args) => crate::sign_in::logout(args).await,
        Command::Send(common) => {
            let output = common.output;
            let target = connect(common, Call::Send, verbose).await?;
            let details = target
                .client
                .send_passkey_link()
                .await
                .map_err(|e| Failure::call(&e, target.context))?;
            let stdout = match output {
                OutputFormat::Json => output::json(&SendMyPasswordlessLinkResponse {
                    details: output::details_field(details),
                })
                .map_err(Failure::local)?,
                OutputFormat::Text => output::send_text(),
            };
            Ok(done(stdout))
        }
        Command::List(common) => {
            let output = common.output;
            let target = connect(common, Call::List, verbose).await?;
            let passkeys = target
                .client
                .list_passkeys()
                .await
                .map_err(|e| Failure::call(&e, target.context))?;
            let stdout = match output {
                OutputFormat::Json => output::json(&ListMyPasswordlessResponse {
                    result: passkeys.iter().map(|p| p.raw().clone()).collect(),
                })
                .map_err(Failure::local)?,
                OutputFormat::Text => output::list_text(&passkeys),
            };
            Ok(done(stdout))
        }
        Command::Remove(args) => {
            let output = args.common.output;
            if args.id.trim().is_empty() {
                return Err(Failure::usage(
                    "the passkey ID must not be empty",
                    Some("`zitadel-passkey list` shows the IDs"),
                ));
            }
            let target = connect(args.common, Call::Remove, verbose).await?;
            let details = target
                .client
                .remove_passkey(&args.id)
                .await
                .map_err(|e| Failure::call(&e, target.context))?;
            let stdout = match output {
                OutputFormat::Json => output::json(&RemoveMyPasswordlessResponse {
                    details: output::details_field(details),
                })
                .map_err(Failure::local)?,
                OutputFormat::Text => output::remove_text(&args.id),
            };
            Ok(done(stdout))
        }
    }
}

pub(crate) fn done(stdout: String) -> Outcome {
    Outcome {
        stdout,
        open: None,
        late_failure: None,
        journey: None,
    }
}

/// `link`: create the link, render it, write the QR images (and with `--open`, have `main` open
/// it once it is printed).
async fn link(args: LinkArgs, offset: UtcOffset, verbose: bool) -> Result<Outcome, Failure> {
    let output = args.common.output;
    let wants_browser = args.open;
    let target = connect(args.common, Call::Link, verbose).await?;
    let link = target
        .client
        .add_passkey_link()
        .await
        .map_err(|e| Failure::call(&e, target.context))?;
    // With `--open` the embedded mock keeps serving the link's page for the browser.
    let journey = match target.mock {
        Some(mock) if wants_browser => Some(Journey::new(mock, &link)),
        _ => None,
    };
    drop(target.client);
    let open = wants_browser.then(|| match &journey {
        Some(journey) => journey.browser_url(link.url()),
        None => link.url().to_owned(),
    });

    let wants_image = args.qr_png.is_some() || args.qr_svg.is_some();
    let style = match output {
        OutputFormat::Json => None,
        OutputFormat::Text => terminal_style(args.qr),
    };
    let qr = if style.is_some() || wants_image {
        match Qr::new(link.url()) {
            Ok(qr) => Some(qr),
            Err(e) if wants_image => {
                // The link is created: show it, then fail for the images.
                let stdout = render_link(&link, None, output, offset)?;
                return Ok(Outcome {
                    stdout,
                    open,
                    late_failure: Some(Failure::local(e)),
                    journey,
                });
            }
            Err(e) => {
                stderr_line(&format!("note: {e}"));
                None
            }
        }
    } else {
        None
    };
    let terminal = qr.as_ref().zip(style);
    let stdout = render_link(&link, terminal, output, offset)?;

    let mut late_failure = None;
    if let Some(qr) = &qr {
        if let Some(path) = &args.qr_png {
            let written = qr.png().and_then(|png| write_file(path, &png));
            late_failure = late_failure.or(written.err().map(Failure::local));
        }
        if let Some(path) = &args.qr_svg {
            let written = write_file(path, qr.svg().as_bytes());
            late_failure = late_failure.or(written.err().map(Failure::local));
        }
    }
    Ok(Outcome {
        stdout,
        open,
        late_failure,
        journey,
    })
}

fn render_link(
    link: &zitadel_passkey::PasskeyLink,
    terminal: Option<(&Qr, Style)>,
    output: OutputFormat,
    offset: UtcOffset,
) -> Result<String, Failure> {
    match output {
        OutputFormat::Json => output::json(link.raw()).map_err(Failure::local),
        OutputFormat::Text => Ok(output::link_text(link, terminal, offset)),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The certificates (DER) of a PEM file for `--ca-cert`.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let bad = |e: &dyn std::fmt::Display| {
        Failure::usage(
            format!("cannot read --ca-cert {}: {e}", path.display()),
            Some("the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)"),
        )
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certificates.is_empty() {
        return Err(bad(&"no certificate in it"));
    }
    Ok(certificates)
}

/// The terminal style `--qr` asks for; `None` for no QR code in the terminal.
pub(crate) fn terminal_style(choice: QrStyle) -> Option<Style> {
    match choice {
        QrStyle::Auto => {
            let colours = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
            Some(if colours { Style::Color } else { Style::Plain })
        }
        QrStyle::Color => Some(Style::Color),
        QrStyle::Plain => Some(Style::Plain),
        QrStyle::Inverted => Some(Style::Inverted),
        QrStyle::None => None,
    }
}

/// Builds the client for the endpoint, or starts the embedded mock when there is none.
async fn connect(common: CommonArgs, call: Call, verbose: bool) -> Result<Target, Failure> {
    let token = common.token.filter(|t| !t.is_empty());
    let org_id = common.org_id.filter(|o| !o.is_empty());
    let endpoint = common.endpoint.filter(|e| !e.trim().is_empty());
    let transport = Transport::from(common.transport);

    let (endpoint, token, mock) = match endpoint {
        Some(endpoint) => (endpoint, token, None),
        None => {
            let mock = MockServer::builder().start().await.map_err(|e| {
                Failure::local(format!("the embedded mock ZITADEL did not start: {e}"))
            })?;
            let whose = if token.is_some() {
                "your token (it stays on this machine)".to_owned()
            } else {
                format!("the demo token {DEMO_TOKEN:?}")
            };
            stderr_line(&format!(
                "note: no --endpoint or ZITADEL_URL given: using the embedded mock ZITADEL at {} \
                 with {whose} over {transport}; it stops when this command exits",
                mock.uri()
            ));
            let token = token.or_else(|| Some(DEMO_TOKEN.to_owned()));
            (mock.uri(), token, Some(mock))
        }
    };

    // No token given for a real instance: the login `zitadel-passkey login` stored for it.
    let stored = match (&token, &mock) {
        (None, None) => {
            let sign_in = SignInArgs {
                endpoint: Some(endpoint.clone()),
                ca_cert: common.ca_cert.clone(),
                insecure_http: common.insecure_http,
                timeout: common.timeout,
            };
            crate::sign_in::stored_provider(&store::key(&endpoint), &sign_in, verbose)?
        }
        _ => None,
    };
    let context = Context {
        call,
        had_token: token.is_some() || stored.is_some(),
        signed_in: stored.is_some(),
        had_org_id: org_id.is_some(),
    };
    let mut builder = Client::builder(&endpoint)
        .transport(transport)
        .timeout(common.timeout)
        .connect_timeout(common.timeout.min(zitadel_passkey::DEFAULT_CONNECT_TIMEOUT))
        .allow_insecure_http(common.insecure_http);
    if let Some(token) = token {
        builder = builder.token(token);
    }
    if let Some(provider) = stored {
        builder = builder.token_provider(provider);
    }
    if let Some(org_id) = org_id {
        builder = builder.org_id(org_id);
    }
    if let Some(path) = &common.ca_cert {
        for der in read_certificates(path)? {
            builder = builder.add_root_certificate(der);
        }
    }
    let client = builder.build().map_err(|e| {
        if e.kind() == ErrorKind::Insecure {
            // The SDK names its builder method; say it in the command line's terms.
            Failure::usage(
                "refusing plain http:// to a host that is not loopback: the token would travel unencrypted",
                Some("use https://, or add --insecure-http on a network you trust"),
            )
        } else {
            Failure::usage(
                failure::sanitize(e.message()),
                Some("the endpoint is the instance's URL, e.g. https://my-instance.zitadel.cloud"),
            )
        }
    })?;
    Ok(Target {
        client,
        context,
        mock,
    })
}
