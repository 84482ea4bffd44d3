//! Get a passkey registration link over gRPC over HTTP/2 (h2c for http://).
//!
//! ```sh
//! ZITADEL_URL=https://my-instance.zitadel.cloud ZITADEL_TOKEN=... \
//!     cargo run -p zitadel-passkey --example grpc
//! ```
//!
//! Against the mock: `zitadel-passkey-mock --listen 127.0.0.1:8080`, then
//! `ZITADEL_URL=http://127.0.0.1:8080 ZITADEL_TOKEN=any-token cargo run -p zitadel-passkey --example grpc`.

use std::process::ExitCode;
use std::time::Duration;

use zitadel_passkey::{Client, Transport};

#[tokio::main]
async fn main() -> ExitCode {
    let endpoint = std::env::var("ZITADEL_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("ZITADEL_TOKEN").unwrap_or_default();
    let client = match Client::builder(&endpoint)
        .transport(Transport::Grpc)
        .token(token)
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    match client.add_passkey_link().await {
        Ok(link) => {
            // Display shows the link with the one-time code as ***; url() is the real link.
            println!("link:       {link}");
            println!("user:       {} (org {})", link.user_id(), link.org_id());
            println!("code ID:    {}", link.code_id());
            println!("expires in: {:?}", link.expires_in());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            if error.is_outcome_unknown() {
                eprintln!("the link may have been created: check before trying again");
            }
            ExitCode::FAILURE
        }
    }
}
