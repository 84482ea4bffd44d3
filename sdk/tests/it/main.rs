//! The SDK's integration tests as one binary (one link instead of one per file): a module per
//! area, sharing `common` (and, through it, `zitadel-passkey-test-support`).

#[path = "../common/mod.rs"]
mod common;

mod client;
mod grpc;
mod grpc_web;
mod logging;
mod proto_json;
mod proto_wire;
