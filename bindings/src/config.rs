//! What a [`PasskeyClient`](crate::PasskeyClient) is made from: [`ClientConfig`], and the
//! per-call [`CallOptions`].

use std::sync::Arc;
use std::time::Duration;

use crate::CancellationToken;

/// The wire format of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Transport {
    /// gRPC over HTTP/2 (`application/grpc`).
    Grpc,
    /// gRPC-web over HTTP/1.1 (`application/grpc-web+proto`).
    GrpcWeb,
    /// REST/JSON over HTTP/1.1 (`application/json`).
    Json,
}

impl From<Transport> for zitadel_passkey::Transport {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::Grpc => zitadel_passkey::Transport::Grpc,
            Transport::GrpcWeb => zitadel_passkey::Transport::GrpcWeb,
            Transport::Json => zitadel_passkey::Transport::Json,
        }
    }
}

impl From<zitadel_passkey::Transport> for Transport {
    fn from(transport: zitadel_passkey::Transport) -> Self {
        match transport {
            zitadel_passkey::Transport::Grpc => Transport::Grpc,
            zitadel_passkey::Transport::GrpcWeb => Transport::GrpcWeb,
            // `Transport` is non-exhaustive; JSON is the fallback as in the SDK's builder.
            _ => Transport::Json,
        }
    }
}

/// How to reach ZITADEL. Credentials are passed separately, to the constructors of
/// `PasskeyClient`, so that no string form of this record shows them.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// The instance, e.g. `https://my-instance.zitadel.cloud` (`http://` only to loopback
    /// hosts unless `allow_insecure_http` is set).
    pub endpoint: String,
    /// The wire format.
    pub transport: Transport,
    /// `x-zitadel-orgid` on every call (the organisation must exist).
    #[uniffi(default = None)]
    pub org_id: Option<String>,
    /// The deadline of a call, all attempts together (default: 30 seconds).
    #[uniffi(default = None)]
    pub timeout: Option<Duration>,
    /// The time allowed to open a connection, TCP and TLS (default: 10 seconds).
    #[uniffi(default = None)]
    pub connect_timeout: Option<Duration>,
    /// `accept-language` on every call (the language of error descriptions).
    #[uniffi(default = None)]
    pub accept_language: Option<String>,
    /// Allow `http://` to hosts that are not loopback (tokens would travel in the clear).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
}

/// Options of one call, overriding the client's config.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CallOptions {
    /// The deadline of this call.
    #[uniffi(default = None)]
    pub timeout: Option<Duration>,
    /// `x-zitadel-orgid` for this call.
    #[uniffi(default = None)]
    pub org_id: Option<String>,
    /// Cancels the call when cancelled.
    #[uniffi(default = None)]
    pub cancel: Option<Arc<CancellationToken>>,
}

impl CallOptions {
    /// The SDK's options and the cancellation token.
    pub(crate) fn split(
        options: Option<CallOptions>,
    ) -> (zitadel_passkey::CallOptions, Option<Arc<CancellationToken>>) {
        let options = options.unwrap_or_default();
        let mut sdk = zitadel_passkey::CallOptions::new();
        if let Some(timeout) = options.timeout {
            sdk = sdk.timeout(timeout);
        }
        if let Some(org_id) = options.org_id {
            sdk = sdk.org_id(org_id);
        }
        (sdk, options.cancel)
    }
}
