//! Test support shared by the SDK's tests (`sdk/tests`), the mock's (`server-mock/tests`) and the
//! contract suite (`tests/`): a raw HTTP/1.1 and h2 client, gRPC and gRPC-web frames and status,
//! and fake servers that answer what no well-behaved library would send.
//!
//! Hand-written on purpose and independent of the SDK's transports (only its generated protobuf
//! messages are used), so a test built on it checks the SDK instead of agreeing with it.
//! Everything here fails by panicking, as test code does, unless it returns a `Result`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod b64;
pub mod client;
pub mod fake_h2;
pub mod fake_raw;
pub mod frames;
pub mod status;

pub use b64::{b64, b64_decode, b64_unpadded};
pub use client::{Reply, SendError, get, send, send_io, send_request};
pub use fake_h2::{H2Fake, Seen, Step, error_steps, ok_steps};
pub use fake_raw::{dead_port, goaway_server, http1_keepalive_server, http1_server};
pub use frames::{
    FrameError, GrpcWebReply, frame, frames, message_frame, parse_grpc_web, trailer_block,
    trailer_frame,
};
pub use status::{GrpcStatus, error_headers, grpc_status, grpc_timeout, status_bytes};
