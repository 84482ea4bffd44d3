//! A mock ZITADEL serving the passkey calls over gRPC, gRPC-web and REST/JSON on one port.

/// The generated tonic server traits (messages come from `zitadel_passkey::proto`).
#[path = "generated/mod.rs"]
pub mod proto;
