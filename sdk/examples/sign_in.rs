//! Sign a person in with OAuth device authorization, then get their passkey registration link.
//!
//! ```sh
//! ZITADEL_URL=https://my-instance.zitadel.cloud ZITADEL_CLIENT_ID=312345678901234567 \
//!     cargo run -p zitadel-passkey --example sign_in
//! ```
//!
//! The client ID is a Native application's with the Device Code grant. Against the mock:
//! `zitadel-passkey-mock --listen 127.0.0.1:8080`, run this with `ZITADEL_URL=http://127.0.0.1:8080`
//! and any client ID, then open the printed URL (or
//! `curl -d '{"user_code":"XXXX-XXXX"}' http://127.0.0.1:8080/__mock/device/approve`).

use std::process::ExitCode;

use zitadel_passkey::{Client, DeviceAuthorization, SignInErrorKind, Tokens};

/// Where an app would store the tokens (privately: a keyring, a 0600 file).
fn keep(tokens: &Tokens) {
    let scope = tokens.scope().unwrap_or("?");
    eprintln!("(tokens to keep; scope {scope})");
}

#[tokio::main]
async fn main() -> ExitCode {
    let endpoint = std::env::var("ZITADEL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let client_id = std::env::var("ZITADEL_CLIENT_ID").unwrap_or_else(|_| "example-app".into());
    let flow = match DeviceAuthorization::builder(&endpoint, client_id).build() {
        Ok(flow) => flow,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let pending = match flow.start().await {
        Ok(pending) => pending,
        Err(error) => {
            eprintln!("cannot start the sign-in: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Open {} and enter {} (within {} s)",
        pending.verification_uri(),
        pending.user_code(),
        pending.expires_in().as_secs()
    );
    let tokens = match pending.wait().await {
        Ok(tokens) => tokens,
        Err(error) if error.kind() == SignInErrorKind::Denied => {
            eprintln!("you denied the sign-in");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("sign-in failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    keep(&tokens);
    let provider = flow.token_provider(tokens).on_refresh(keep);
    let client = match Client::builder(&endpoint).token_provider(provider).build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    match client.add_passkey_link().await {
        Ok(link) => {
            println!("{}", link.url());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("failed: {error}");
            ExitCode::FAILURE
        }
    }
}
