//! A client for ZITADEL's "Add passkey link" API: get a one-time passkey registration link for
//! the signed-in user over gRPC, gRPC-web or REST/JSON, with the same results and errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use zitadel_passkey::{Client, Transport};
//!
//! # async fn run() -> Result<(), zitadel_passkey::Error> {
//! let client = Client::builder("https://my-instance.zitadel.cloud")
//!     .transport(Transport::GrpcWeb)
//!     .token("the user's access token")
//!     .timeout(Duration::from_secs(10))
//!     .build()?;
//! match client.add_passkey_link().await {
//!     Ok(link) => println!("open {} within {:?}", link.url(), link.expires_in()),
//!     Err(e) if e.is_outcome_unknown() => eprintln!("maybe created, check before retrying: {e}"),
//!     Err(e) => eprintln!("failed: {e}"), // e.g. "UNAUTHENTICATED (AUTH-7fs1e): Errors.Token.Invalid"
//! }
//! # Ok(()) }
//! ```
//!
//! # Transports and Cargo features
//!
//! | [`Transport`] | wire | feature |
//! |---|---|---|
//! | [`Transport::Grpc`] | `application/grpc`, HTTP/2 (h2c for `http://`) | `grpc` |
//! | [`Transport::GrpcWeb`] | `application/grpc-web+proto`, HTTP/1.1 | `grpc-web` |
//! | [`Transport::Json`] | `application/json`, HTTP/1.1 | `json` |
//!
//! All three are on by default, with TLS by rustls (ring) trusting the bundled Mozilla roots
//! (`webpki-roots`); `native-roots` trusts the platform's roots instead or as well.
//!
//! # Retries
//!
//! Adding a link is not idempotent, so a call is retried only when its request provably never
//! reached the server (connection refused, DNS failure, HTTP/2 stream refused or not covered by
//! a GOAWAY), per [`RetryPolicy`]; and once after `UNAUTHENTICATED` when a [`TokenProvider`]
//! can refresh the token. Everything else is returned, with [`Error::is_outcome_unknown`]
//! telling whether the server may have acted.
//!
//! # Errors
//!
//! Every failure is one [`Error`]. Decide on [`Error::kind`] (an [`ErrorKind`]: who answered, and
//! whether the request may have reached ZITADEL), [`Error::code`] and [`Error::error_id`], never
//! on the message text. The same answer gives an equal `Error` on every transport; an answer
//! that carries no gRPC status (a proxy's page) is read by gRPC's HTTP-to-status table.
//!
//! # Runtime, logging
//!
//! Calls run on [tokio](https://tokio.rs): they must be awaited inside a tokio runtime with its
//! time and I/O drivers on (`#[tokio::main]`, or a `Builder` with `enable_all()`). Each
//! call is a `tracing` span `zitadel_passkey.call` (method, transport, outcome) with one
//! `attempt` span per attempt; tokens and one-time codes never appear in them, nor in any
//! `Debug` or `Display` output of this crate's types, the generated
//! [`AddMyPasswordlessLinkResponse`](proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse)
//! (whose `link` holds the code) included.
//!
//! # Signing in as a person
//!
//! With the `device-authorization` feature (on by default), [`DeviceAuthorization`] signs the
//! user in the way terminal tools do (OAuth 2.0 device authorization, which ZITADEL supports):
//! show a URL and a code, wait until the person allowed it on any device, then hand the
//! tokens to the client as a [`DeviceTokenProvider`], which refreshes them.
//!
//! # Testing an app
//!
//! Put a fake [`Stub`] behind the client with [`Client::from_stub`].

#![warn(missing_docs)]
// With no transport compiled in, only `Client::from_stub` is usable and much lies idle.
#![cfg_attr(
    not(any(feature = "grpc", feature = "grpc-web", feature = "json")),
    allow(dead_code, unreachable_code, unused_variables)
)]

mod client;
mod credentials;
mod error;
mod link;
mod retry;
#[cfg(feature = "device-authorization")]
mod sign_in;
mod stub;
mod transport;

/// The generated protobuf messages (prost), their canonical proto3 JSON (pbjson), the tonic
/// client and the HTTP rule table, one module per proto package. Regenerate with
/// `cargo xtask codegen`.
#[path = "generated/mod.rs"]
pub mod proto;
pub mod wkt;

pub use client::{CallOptions, Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use credentials::{Secret, TokenProvider};
pub use error::{Code, Error, ErrorKind};
pub use link::{Passkey, PasskeyLink};
pub use proto::zitadel::v1::ObjectDetails;
pub use retry::{RetryPolicy, Sleep, TokioSleep};
#[cfg(feature = "device-authorization")]
pub use sign_in::{
    DEFAULT_SCOPES, DEFAULT_SIGN_IN_TIMEOUT, DeviceAuthorization, DeviceAuthorizationBuilder,
    DeviceTokenProvider, PendingSignIn, REFRESH_MARGIN, SignInError, SignInErrorKind, Tokens,
};
pub use stub::{BoxFuture, CallMetadata, Stub};
pub use transport::{MAX_RESPONSE_BYTES, Transport};
