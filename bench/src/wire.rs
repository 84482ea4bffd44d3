//! What every client and server of the benchmark sends and answers: one `AddMyPasswordlessLink`
//! call with a bearer token, over each transport.

use std::fmt;
use std::str::FromStr;

/// The bearer token every client sends (the mock accepts any well-formed token).
pub const TOKEN: &str = "bench-token-0123456789";
/// The gRPC and gRPC-web method path.
pub const GRPC_PATH: &str = "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink";
/// The REST gateway's path of the same call.
pub const REST_PATH: &str = "/auth/v1/users/me/passwordless/_link";

/// A transport of the API, as the benchmark names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    Grpc,
    GrpcWeb,
    Json,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Json];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::GrpcWeb => "grpc-web",
            Transport::Json => "json",
        }
    }

    pub fn sdk(self) -> zitadel_passkey::Transport {
        match self {
            Transport::Grpc => zitadel_passkey::Transport::Grpc,
            Transport::GrpcWeb => zitadel_passkey::Transport::GrpcWeb,
            Transport::Json => zitadel_passkey::Transport::Json,
        }
    }

    /// The request's content type, path and body, as a load generator sends them.
    pub fn request(self) -> (&'static str, &'static str, &'static [u8]) {
        // An empty message in a gRPC frame: flag 0, length 0.
        const EMPTY_FRAME: &[u8] = &[0, 0, 0, 0, 0];
        match self {
            Transport::Grpc => ("application/grpc", GRPC_PATH, EMPTY_FRAME),
            Transport::GrpcWeb => ("application/grpc-web+proto", GRPC_PATH, EMPTY_FRAME),
            Transport::Json => ("application/json", REST_PATH, b"{}"),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Transport::ALL
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| format!("unknown transport {text:?} (grpc, grpc-web or json)"))
    }
}
