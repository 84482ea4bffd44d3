//! A client for ZITADEL's "Add passkey link" API.

/// The generated protobuf messages (prost), their canonical proto3 JSON (pbjson), the tonic
/// client and the HTTP rule table, one module per proto package. Regenerate with
/// `cargo xtask codegen`.
#[path = "generated/mod.rs"]
pub mod proto;
pub mod wkt;
