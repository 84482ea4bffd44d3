//! `zitadel-passkey`: get a one-time passkey registration link (and its QR code) from ZITADEL or
//! the embedded mock. See `zitadel-passkey --help` and the README.
//!
//! `zitadel-passkey link --open` also opens the link in the default browser once it is printed
//! (see [`browser`]); when no browser can be opened (no display, no `$BROWSER`, the launch
//! fails) a one-line note on stderr says so, and the command still succeeds.

mod args;
mod browser;
mod failure;
mod journey;
mod output;
mod qr;
mod run;
mod sign_in;
mod store;

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser as _;
use time::UtcOffset;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::args::Cli;
use crate::failure::{Failure, exit};

fn main() -> ExitCode {
    // The local UTC offset can only be read safely while the process has one thread, so read it
    // before the runtime starts (UTC if the platform will not say).
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap's own message; --help and --version are not errors.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    if cli.verbose {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("zitadel_passkey=debug,zitadel_passkey_mock=info")
        });
        // Closed spans show each call and attempt with its outcome and duration. The browser
        // crate's records name the browser's command line, one-time code included: never shown,
        // whatever RUST_LOG says.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_env_filter(filter)
            .finish()
            .with(tracing_subscriber::filter::filter_fn(|metadata| {
                !browser::is_browser_log(metadata.target())
            }))
            .init();
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&Failure::local(format!("cannot start the runtime: {e}"))),
    };
    let outcome = runtime.block_on(run::run(cli.command, offset, cli.verbose));

    match outcome {
        Ok(outcome) => {
            if let Err(e) = write_stdout(&outcome.stdout) {
                return report(&Failure::local(format!("cannot write the output: {e}")));
            }
            // Only once the link is on stdout; a browser that cannot be opened is a note, not a
            // failure (the link was created and shown).
            let opened = match &outcome.open {
                Some(url) => match browser::open(url) {
                    Ok(()) => true,
                    Err(note) => {
                        stderr_line(&note);
                        false
                    }
                },
                None => false,
            };
            // On the embedded mock the browser needs the mock alive: serve until the user has
            // registered the passkey there (or the link is done for, or Ctrl-C).
            if let Some(journey) = outcome.journey.as_ref().filter(|_| opened) {
                stderr_line(
                    "note: the embedded mock keeps serving the link's page; register the passkey \
                     in the browser (Ctrl-C stops)",
                );
                let end = runtime.block_on(journey.wait());
                stderr_line(&end.note());
            }
            drop(outcome.journey);
            drop(runtime);
            match outcome.late_failure {
                Some(failure) => report(&failure),
                None => ExitCode::from(exit::OK),
            }
        }
        Err(failure) => report(&failure),
    }
}

/// Writes the whole output at once; a closed stdout is an error, not a panic.
fn write_stdout(text: &str) -> std::io::Result<()> {
    // Passes ANSI colours through; on a Windows console without VT support it turns them into
    // console calls (anstream, which clap uses too).
    let mut stdout = anstream::AutoStream::always(std::io::stdout().lock());
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Prints a failure on stderr and gives its exit code.
fn report(failure: &Failure) -> ExitCode {
    for line in &failure.lines {
        stderr_line(line);
    }
    ExitCode::from(failure.exit_code)
}

/// One line on stderr; a closed stderr is ignored (unlike `eprintln!`, which panics).
pub(crate) fn stderr_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
