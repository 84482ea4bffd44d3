//! The scenario table: every row of the matrix, with what it needs and where it applies.

use futures::future::BoxFuture;
use zitadel_passkey::Transport;

use crate::ctx::Ctx;

mod admin;
mod equivalence;
mod errors;
mod family;
mod fault_runs;
mod faults;
mod grpc_go_rows;
mod headers;
mod link;
mod load;
mod peer_rows;
mod resilience;
mod tls;

/// A boxed run of one scenario over one transport.
pub type BoxRun = BoxFuture<'static, anyhow::Result<()>>;

/// What a scenario needs beyond an endpoint and a user's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing more: it also runs against a live ZITADEL.
    Any,
    /// The mock (its admin API, journal, users or faults); the reason is printed for live runs.
    Mock(&'static str),
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The row's name.
    pub name: &'static str,
    /// What it needs.
    pub needs: Needs,
    /// Why it does not apply to a transport (`None`: it applies).
    pub skip: fn(Transport) -> Option<&'static str>,
    /// Runs it over one transport.
    pub run: fn(Ctx) -> BoxRun,
}

const ADMIN: Needs = Needs::Mock("needs the mock's admin API (journal, users, faults)");
const TAP: Needs = Needs::Mock("needs a header/body-rewriting tap in front of a plain-HTTP mock");

fn every(_: Transport) -> Option<&'static str> {
    None
}

fn grpc_only(t: Transport) -> Option<&'static str> {
    (t != Transport::Grpc).then_some("this peer speaks application/grpc only")
}

fn grpc_web_only(t: Transport) -> Option<&'static str> {
    (t != Transport::GrpcWeb).then_some("this peer speaks application/grpc-web+proto only")
}

fn json_only(t: Transport) -> Option<&'static str> {
    (t != Transport::Json).then_some("this peer speaks application/json only")
}

fn binary_metadata(t: Transport) -> Option<&'static str> {
    (t == Transport::Json)
        .then_some("REST carries google.rpc.Status as JSON: there is no base64 metadata")
}

fn http1(t: Transport) -> Option<&'static str> {
    (t == Transport::Grpc).then_some("gRPC requires HTTP/2")
}

fn http2_sdk(t: Transport) -> Option<&'static str> {
    match t {
        Transport::Grpc => None,
        Transport::GrpcWeb => Some(
            "the SDK's gRPC-web transport speaks HTTP/1.1 only; row peer/http-2 covers the mock",
        ),
        _ => Some("the SDK's REST transport speaks HTTP/1.1 only; row peer/http-2 covers the mock"),
    }
}

fn http2_peer(t: Transport) -> Option<&'static str> {
    (t == Transport::Grpc).then_some("row peer/python-grpcio is the gRPC (HTTP/2) peer")
}

macro_rules! row {
    ($name:expr, $needs:expr, $skip:expr, $f:path) => {
        Scenario {
            name: $name,
            needs: $needs,
            skip: $skip,
            run: |ctx| crate::boxed($f(ctx)),
        }
    };
}

/// Every scenario, in matrix order.
pub fn all() -> Vec<Scenario> {
    vec![
        row!("link/shape", Needs::Any, every, link::shape),
        row!(
            "link/sequence-and-codes",
            Needs::Any,
            every,
            link::sequence_and_codes
        ),
        row!("link/login-page", ADMIN, every, link::login_page),
        row!("send", ADMIN, every, family::send),
        row!("list", Needs::Any, every, family::list),
        row!("list-and-remove", ADMIN, every, family::list_and_remove),
        row!(
            "error/auth-header-missing",
            Needs::Any,
            every,
            errors::header_missing
        ),
        row!(
            "error/invalid-auth-header",
            TAP,
            every,
            errors::invalid_header
        ),
        row!(
            "error/token-invalid",
            Needs::Any,
            every,
            errors::token_invalid
        ),
        row!(
            "error/org-not-found",
            Needs::Any,
            every,
            errors::org_not_found
        ),
        row!(
            "error/user-id-missing",
            ADMIN,
            every,
            errors::user_id_missing
        ),
        row!(
            "error/remove-unknown-passkey",
            ADMIN,
            every,
            errors::remove_unknown
        ),
        row!(
            "error/remove-empty-id",
            Needs::Any,
            every,
            errors::remove_empty_id
        ),
        row!("header/x-zitadel-orgid", Needs::Any, every, headers::org_id),
        row!(
            "header/accept-language",
            TAP,
            every,
            headers::accept_language
        ),
        row!("decode/unknown-fields", TAP, every, headers::unknown_fields),
        row!(
            "decode/unpadded-base64",
            TAP,
            binary_metadata,
            headers::unpadded_base64
        ),
        row!(
            "decode/padded-base64",
            TAP,
            binary_metadata,
            headers::padded_base64
        ),
        row!("deadline/client", ADMIN, every, resilience::deadline),
        row!(
            "deadline/travels",
            ADMIN,
            every,
            resilience::deadline_travels
        ),
        row!(
            "journal/abandoned-call",
            ADMIN,
            every,
            resilience::journal_abandoned
        ),
        row!("fault/error-codes", ADMIN, every, faults::error_codes),
        row!("fault/delay", ADMIN, every, faults::delay),
        row!(
            "fault/drop-before-handler",
            ADMIN,
            every,
            faults::drop_before
        ),
        row!("fault/drop-after-handler", ADMIN, every, faults::drop_after),
        row!("fault/proxy-status", ADMIN, every, faults::proxy_status),
        row!(
            "fault-x100/drop-after-handler",
            ADMIN,
            every,
            fault_runs::drop_after
        ),
        row!(
            "fault-x100/drop-before-handler",
            ADMIN,
            every,
            fault_runs::drop_before
        ),
        row!("fault-x100/refused", ADMIN, every, fault_runs::refused),
        row!("fault-x100/stall", ADMIN, every, fault_runs::stall),
        row!(
            "retry/none-after-send",
            ADMIN,
            every,
            resilience::no_retry_after_send
        ),
        row!(
            "retry/before-send",
            ADMIN,
            every,
            resilience::retry_before_send
        ),
        row!(
            "token/refresh-after-unauthenticated",
            Needs::Any,
            every,
            resilience::token_refresh
        ),
        row!("load/100-concurrent", ADMIN, every, load::concurrent),
        row!("admin-api/http", ADMIN, every, admin::http_api),
        row!("tls/https", ADMIN, every, tls::https),
        row!(
            "equivalence/same-seed",
            ADMIN,
            every,
            equivalence::same_seed
        ),
        row!("http/1.1 (sdk)", ADMIN, http1, peer_rows::sdk_http_version),
        row!(
            "http/2 (sdk)",
            ADMIN,
            http2_sdk,
            peer_rows::sdk_http_version
        ),
        row!("peer/python-grpcio", PEER, grpc_only, peer_rows::python),
        row!("peer/grpc-go/add", PEER, grpc_only, grpc_go_rows::add),
        row!("peer/grpc-go/send", PEER, grpc_only, grpc_go_rows::send),
        row!("peer/grpc-go/list", PEER, grpc_only, grpc_go_rows::list),
        row!("peer/grpc-go/remove", PEER, grpc_only, grpc_go_rows::remove),
        row!(
            "peer/grpc-go/error/auth-header-missing",
            PEER,
            grpc_only,
            grpc_go_rows::header_missing
        ),
        row!(
            "peer/grpc-go/error/invalid-auth-header",
            PEER,
            grpc_only,
            grpc_go_rows::invalid_header
        ),
        row!(
            "peer/grpc-go/error/token-invalid",
            PEER,
            grpc_only,
            grpc_go_rows::token_invalid
        ),
        row!(
            "peer/grpc-go/error/org-not-found",
            PEER,
            grpc_only,
            grpc_go_rows::org_not_found
        ),
        row!(
            "peer/grpc-go/error/user-id-missing",
            PEER,
            grpc_only,
            grpc_go_rows::user_id_missing
        ),
        row!(
            "peer/grpc-go/error/remove-unknown-passkey",
            PEER,
            grpc_only,
            grpc_go_rows::remove_unknown
        ),
        row!(
            "peer/grpc-go/error/remove-empty-id",
            PEER,
            grpc_only,
            grpc_go_rows::remove_empty_id
        ),
        row!(
            "peer/grpc-web-frames",
            PEER,
            grpc_web_only,
            peer_rows::grpc_web_http1
        ),
        row!("peer/curl", PEER, json_only, peer_rows::curl_http1),
        row!("peer/http-2", PEER, http2_peer, peer_rows::http2),
    ]
}

const PEER: Needs = Needs::Mock("the independent peers check the mock");
