//! The mock's integration tests as one binary (one link instead of one per file): a module per
//! area, sharing `common` (and, through it, `zitadel-passkey-test-support`).

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod errors;
mod faults;
mod framing;
mod login_page;
mod oauth;
mod python_grpcio;
mod restart;
mod robustness;
mod schemathesis;
mod server;
mod tls;
mod transports;
mod webauthn;
