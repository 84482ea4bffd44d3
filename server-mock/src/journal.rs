//! The journal: one entry per RPC call (and OAuth endpoint call) the mock saw, in the order the
//! answers were produced.

use std::collections::VecDeque;
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use zitadel_passkey::{Code, Transport};

use crate::clock::serialize_time;
use crate::token_digest::TokenDigest;

/// At most this many journal entries are kept (the oldest go first), so that a load test
/// neither grows the mock without bound nor makes it slower.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One RPC call, or one call of an OAuth endpoint, as the mock saw it. Never holds the token,
/// only a fingerprint of it, nor anything of an OAuth request's form (device codes, tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// When the answer was produced (the mock's clock, so fixed with `fixed_clock`).
    #[serde(serialize_with = "serialize_time")]
    pub time: SystemTime,
    /// `grpc`, `grpc-web` or `json`.
    #[serde(serialize_with = "serialize_transport")]
    pub transport: Transport,
    /// `HTTP/1.1` or `HTTP/2`.
    pub http_version: &'static str,
    /// The RPC name, e.g. `AddMyPasswordlessLink`, or the OAuth endpoint's (`DeviceAuthorization`,
    /// `Token`, `Revoke`).
    pub method: &'static str,
    /// The `x-zitadel-orgid` header, if sent (its first 256 bytes and `…` if it is longer).
    pub org_id: Option<String>,
    /// The gRPC status code answered (`0` for OK; for REST the code of the JSON status);
    /// `1` (CANCELLED) when the client went away before the answer; `None` when no status
    /// was sent (a drop fault or a "proxy" answered). For an OAuth endpoint, `0` for HTTP 200
    /// and otherwise the code of the HTTP status answered (3 for 400, 16 for 401, 13 for 500,
    /// 14 for 503).
    #[serde(serialize_with = "serialize_code")]
    pub code: Option<Code>,
    /// ZITADEL's error id of the answer, if any; for an OAuth endpoint, the OAuth `error`
    /// (e.g. `authorization_pending`).
    pub error_id: Option<String>,
    /// The first 16 hex digits of the SHA-256 of the bearer token, if one was sent in the
    /// `authorization` header.
    pub token_fingerprint: Option<String>,
    /// The scripted fault applied to this call, if any (`drop_before_handler`, `delay`, ...).
    pub fault: Option<&'static str>,
}

/// Serialises a transport by its name ([`Transport::as_str`]: `"grpc"`, `"grpc-web"`, `"json"`).
pub(crate) fn serialize_transport<S: Serializer>(t: &Transport, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

/// Serialises a code by its number (`0` for OK), as gRPC puts it on the wire; `None` as `null`.
pub(crate) fn serialize_code<S: Serializer>(code: &Option<Code>, s: S) -> Result<S::Ok, S::Error> {
    match code {
        Some(code) => s.serialize_i32(code.as_i32()),
        None => s.serialize_none(),
    }
}

/// A short, stable, one-way fingerprint of a token for logs and the journal.
pub fn token_fingerprint(token: &str) -> String {
    crate::token_digest::TokenDigest::of(token.as_bytes()).fingerprint()
}

/// The last [`JOURNAL_CAPACITY`] entries, oldest first. Each is kept with its token's digest
/// and without the fingerprint's text, which is written when the journal is read: at the
/// capacity every call evicts the oldest entry, and a fingerprint string allocated by one
/// worker and freed, cold, by another was the journal's largest cost under load.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: VecDeque<(JournalEntry, Option<TokenDigest>)>,
}

impl Journal {
    /// Adds an entry (dropping the oldest beyond the capacity) and logs it at debug level.
    /// `entry.token_fingerprint` is left out: it comes from `token` when the journal is read.
    pub(crate) fn record(&mut self, mut entry: JournalEntry, token: Option<TokenDigest>) {
        tracing::debug!(
            method = entry.method,
            transport = entry.transport.as_str(),
            http_version = entry.http_version,
            code = ?entry.code.map(Code::as_i32),
            error_id = ?entry.error_id,
            fault = ?entry.fault,
            token = ?token.map(TokenDigest::fingerprint),
            "call"
        );
        entry.token_fingerprint = None;
        if self.entries.len() >= JOURNAL_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back((entry, token));
    }

    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .map(|(entry, token)| JournalEntry {
                token_fingerprint: token.map(TokenDigest::fingerprint),
                ..entry.clone()
            })
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}
