//! uniffi bindings of [`zitadel_passkey`] for Kotlin (Android, JVM), Swift (iOS) and Python.
//!
//! A thin layer: [`PasskeyClient`] wraps [`zitadel_passkey::Client`] and runs its calls on the
//! tokio runtime (uniffi's `async_runtime = "tokio"`), so they are `suspend` funs in Kotlin,
//! `async throws` in Swift and coroutines in Python. Cancelling the Kotlin coroutine or the
//! Python task drops the call; every call also takes an optional [`CancellationToken`] (Swift's
//! explicit handle). Every failure is one [`PasskeyError`] with a small set of kinds. The
//! [`PasskeyLink`] result and every error show neither the token nor the one-time code in their
//! string forms.
//!
//! A person signs in with [`DeviceAuthorization`] (OAuth device authorization: a URL and a code
//! to open on any device) and [`PasskeyClient::with_sign_in`] keeps the tokens fresh.
//!
//! Generate the foreign sources with `cargo xtask bindings [kotlin|swift|python]`.

#![warn(missing_docs)]

mod cancel;
mod client;
mod config;
mod error;
mod link;
#[cfg(unix)]
mod python_wake;
mod sign_in;
mod token;

pub use cancel::CancellationToken;
pub use client::PasskeyClient;
pub use config::{CallOptions, ClientConfig, Transport};
pub use error::{PasskeyError, TokenProviderError};
pub use link::{ObjectDetails, Passkey, PasskeyLink, PasskeyState};
pub use sign_in::{
    DeviceAuthorization, PendingSignIn, SignInConfig, SignInError, SignInTokens, TokensRefreshed,
};
pub use token::TokenProvider;

uniffi::setup_scaffolding!();
