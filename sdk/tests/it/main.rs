//! The SDK's integration tests as one binary (one link instead of one per file): a module per
//! area, sharing `common` (and, through it, `zitadel-passkey-test-support`).

#[path = "../common/mod.rs"]
mod common;

mod client;
mod connect;
mod cross_transport;
mod device_authorization;
mod grpc;
mod grpc_web;
mod json;
mod logging;
mod proto_json;
mod proto_wire;
mod tls;
mod token_header;
