//! Small wire helpers of the scenarios and the peers: which HTTP version a raw request uses,
//! and what a link must look like.
//!
//! The raw HTTP client and the gRPC frames live in `zitadel-passkey-test-support`, hand-written
//! on purpose: the peers must not share code with the SDK's transports.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// Which HTTP version a raw request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 cleartext with prior knowledge (h2c).
    Http2,
}

impl Version {
    /// As `http` names it.
    pub fn http(self) -> http::Version {
        match self {
            Version::Http1 => http::Version::HTTP_11,
            Version::Http2 => http::Version::HTTP_2,
        }
    }
}

/// The query parameters of a link.
pub fn query(link: &str) -> Result<BTreeMap<String, String>> {
    let url = url::Url::parse(link).with_context(|| format!("not a URL: {link}"))?;
    Ok(url.query_pairs().into_owned().collect())
}

/// Whether `s` is a decimal ID (digits only, not empty).
pub fn is_decimal_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is a one-time code as ZITADEL makes them: 12 of `a-z A-Z 0-9`.
pub fn is_code(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}
