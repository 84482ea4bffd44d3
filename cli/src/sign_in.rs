//! `login` and `logout`, and the stored login the other commands use: a person signs in with
//! ZITADEL's OAuth device authorization (the SDK's `DeviceAuthorization`), the tokens go to the
//! [`Store`], and `link`/`send`/`list`/`remove` get a token provider that refreshes them (and
//! stores the rotated ones) when no `--token` is given.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use zitadel_passkey::{DeviceAuthorization, DeviceTokenProvider, Secret};

use crate::args::{LoginArgs, SignInArgs};
use crate::failure::Failure;
use crate::qr::Qr;
use crate::run::{Outcome, done, read_certificates, terminal_style};
use crate::store::{self, Login, Store};

/// The configured flow for an endpoint and client.
fn flow(
    endpoint: &str,
    client_id: &str,
    args: &SignInArgs,
) -> Result<DeviceAuthorization, Failure> {
    let mut builder = DeviceAuthorization::builder(store::key(endpoint), client_id)
        .timeout(args.timeout)
        .allow_insecure_http(args.insecure_http);
    if let Some(path) = &args.ca_cert {
        for der in read_certificates(path)? {
            builder = builder.add_root_certificate(der);
        }
    }
    builder.build().map_err(|e| Failure::sign_in(&e))
}

fn endpoint_of(args: &SignInArgs) -> Result<String, Failure> {
    args.endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(store::key)
        .ok_or_else(|| {
            Failure::usage(
                "no endpoint: sign-in needs the instance",
                Some("pass --endpoint URL or set ZITADEL_URL"),
            )
        })
}

/// Writes now (the person reads it while the command waits).
fn say(text: &str) {
    let mut stdout = anstream::AutoStream::always(std::io::stdout().lock());
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// `login`: start, show the URL and code, wait, store.
pub(crate) async fn login(args: LoginArgs) -> Result<Outcome, Failure> {
    let endpoint = endpoint_of(&args.sign_in)?;
    let client_id = args
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Failure::usage(
                "no client ID",
                Some("pass --client-id ID (a Native application with the Device Code grant)"),
            )
        })?
        .to_owned();
    // Before the person spends time on the code: a store that cannot keep the tokens fails now.
    let store = Store::choose().map_err(Failure::local)?;
    let flow = flow(&endpoint, &client_id, &args.sign_in)?;
    let pending = flow.start().await.map_err(|e| Failure::sign_in(&e))?;

    let mut text = format!(
        "To sign in to {endpoint}, open\n\n  {}\n\nand enter the code\n\n  {}\n\n",
        pending.verification_uri(),
        pending.user_code()
    );
    if let Some(complete) = pending.verification_uri_complete()
        && let Some(style) = terminal_style(args.qr)
        && let Ok(qr) = Qr::new(complete)
    {
        text.push_str("or scan this with a phone:\n\n");
        text.push_str(&qr.terminal(style));
        text.push('\n');
    }
    text.push_str(&format!(
        "Waiting for you to allow it (the code expires in {}) ...\n",
        crate::output::in_words(pending.expires_in())
    ));
    say(&text);

    let tokens = pending.wait().await.map_err(|e| Failure::sign_in(&e))?;
    store
        .save(&Login {
            endpoint: endpoint.clone(),
            client_id,
            tokens,
        })
        .map_err(Failure::local)?;
    Ok(done(format!(
        "Signed in to {endpoint}. The tokens are kept in {}.\n",
        store.describe()
    )))
}

/// `logout`: revoke the stored tokens (best effort: they are forgotten either way) and forget them.
pub(crate) async fn logout(args: SignInArgs) -> Result<Outcome, Failure> {
    let endpoint = endpoint_of(&args)?;
    let store = Store::choose().map_err(Failure::local)?;
    let Some(login) = store.load(&endpoint).map_err(Failure::local)? else {
        return Ok(done(format!(
            "Not signed in to {endpoint}; nothing to do.\n"
        )));
    };
    let flow = flow(&endpoint, &login.client_id, &args)?;
    let mut notes = Vec::new();
    let mut secrets: Vec<&Secret> = vec![login.tokens.access_token()];
    secrets.extend(login.tokens.refresh_token());
    for secret in secrets {
        if let Err(e) = flow.revoke(secret).await {
            notes.push(format!("note: could not revoke a token at {endpoint}: {e}"));
        }
    }
    store.delete(&endpoint).map_err(Failure::local)?;
    for note in notes {
        crate::stderr_line(&crate::failure::sanitize(&note));
    }
    Ok(done(format!("Signed out of {endpoint}.\n")))
}

/// A stored login for `endpoint`, as a token provider that refreshes and re-stores its tokens;
/// `None` when there is none. With `verbose`, one status line on stderr.
pub(crate) fn stored_provider(
    endpoint: &str,
    args: &SignInArgs,
    verbose: bool,
) -> Result<Option<DeviceTokenProvider>, Failure> {
    let store = match Store::choose() {
        Ok(store) => store,
        // No place to look is no login.
        Err(_) => return Ok(None),
    };
    let Some(login) = store.load(endpoint).map_err(Failure::local)? else {
        return Ok(None);
    };
    if verbose {
        crate::stderr_line(&status_line(&login, &store));
    }
    let flow = flow(endpoint, &login.client_id, args)?;
    let kept = std::sync::Mutex::new(login.clone());
    let provider = flow.token_provider(login.tokens).on_refresh(move |tokens| {
        let mut kept = kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.tokens = tokens.clone();
        // A rotated refresh token must be kept, or the next command cannot refresh.
        if let Err(e) = store.save(&kept) {
            crate::stderr_line(&format!("warning: the refreshed tokens were not kept: {e}"));
        }
    });
    Ok(Some(provider))
}

/// `signed in to X (client Y); access token valid for N more minutes; tokens in Z`.
fn status_line(login: &Login, store: &Store) -> String {
    let left = login.tokens.expires_at().map(|at| {
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    });
    let validity = if let Some(left) = left.filter(|left| !left.is_zero()) {
        format!("access token valid for {}", crate::output::in_words(left))
    } else if left.is_none() {
        "access token of unknown lifetime".to_owned()
    } else {
        "access token expired (it is refreshed on use)".to_owned()
    };
    format!(
        "signed in to {} with client {}; {validity}; tokens in {}",
        login.endpoint,
        crate::failure::sanitize(&login.client_id),
        store.describe()
    )
}
