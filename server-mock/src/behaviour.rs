//! What the mock answers: the one behaviour module behind gRPC, gRPC-web and REST.
//!
//! # Behaviour table
//!
//! Every RPC runs these checks in this order; the first that fails is the answer.
//!
//! | # | condition | gRPC code | HTTP | ErrorDetail id | message |
//! |---|---|---|---|---|---|
//! | 0 | a scripted [`Fault::error`](crate::Fault::error) matches the call | the fault's | mapped | the fault's | the fault's |
//! | 1 | no `authorization` header | 16 UNAUTHENTICATED | 401 | none (no details) | `auth header missing` |
//! | 2 | splitting the header on `Bearer ` does not give exactly two pieces (`Basic …`, `bearer …`, a bare `Bearer`, two `Bearer `s) | 16 UNAUTHENTICATED | 401 | `AUTH-7fs1e` | `invalid auth header` |
//! | 3 | token empty, not visible ASCII or over 8 KiB; or not a `--user` token and starting with `mock_at_` or `mock_rt_` but not a live access token the mock issued with the scope `urn:zitadel:iam:org:project:id:zitadel:aud` (expired, revoked, from before a reset, evicted, without that scope, a refresh token, never issued), in every mode; or (with `--strict`) neither a `--user` token nor such an access token | 16 UNAUTHENTICATED | 401 | `AUTH-7fs1e` | `Errors.Token.Invalid` |
//! | 4 | `x-zitadel-orgid` is set and names no org the mock knows | 7 PERMISSION_DENIED | 403 | `AUTH-Bs7Ds` | `Organisation doesn't exist` |
//! | 5 | the token maps to an empty user ID (`--user TOKEN=@ORG`) | 9 FAILED_PRECONDITION | 400 | `COMMAND-GVfg3` | `Errors.IDMissing` |
//! | 6 | RemoveMyPasswordless with an empty `token_id` | 3 INVALID_ARGUMENT | 400 | `MOCK-tkn01` | `Errors.IDMissing` |
//! | 7 | RemoveMyPasswordless of a passkey the user does not have | 5 NOT_FOUND | 404 | `MOCK-tkn02` | `Errors.User.WebAuthN.NotFound` |
//!
//! Rows 1–5 are docs/wire-contract.md §3; ids starting with `MOCK-` are the mock's own (the contract does not name
//! ZITADEL's). HTTP statuses follow docs/wire-contract.md §3's mapping ([`crate::error::http_status`]).
//!
//! Errors raised outside this module, by the transports:
//!
//! | condition | gRPC / gRPC-web | REST |
//! |---|---|---|
//! | request message over 64 KiB | 8 RESOURCE_EXHAUSTED (tonic) | 413, JSON status code 8 |
//! | body is not a valid message / not valid JSON | 13 INTERNAL (tonic's decode error) | 400, JSON status code 3 |
//! | unknown path | 12 UNIMPLEMENTED | 404, JSON status code 5 |
//! | known path, wrong HTTP method | – | 405, JSON status code 12 |
//!
//! On success a `--user` token is its user; an access token from the device authorization flow
//! ([`crate::oauth`]) is the user who approved it, in the org of the approval (the user's, or
//! [`crate::state::DEFAULT_ORG_ID`] for a derived or unknown user), in strict mode too; any other
//! token (non-strict mode only) maps to a stable user, [`derived_user_id`](crate::state::derived_user_id()),
//! in [`crate::state::DEFAULT_ORG_ID`]:
//!
//! | RPC | effect | answer |
//! |---|---|---|
//! | AddMyPasswordlessLink | new code (18-digit ID, 12-char code), user's sequence + 1 | `details{sequence, creationDate, resourceOwner}`, `link`, `expiration` = code TTL |
//! | SendMyPasswordlessLink | the same, plus the link in the outbox | `details` |
//! | ListMyPasswordless | none | the user's passkeys, all `READY` |
//! | RemoveMyPasswordless | passkey removed, sequence + 1 | `details{sequence, changeDate, resourceOwner}` |

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkResponse, ListMyPasswordlessResponse, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkResponse,
};
use zitadel_passkey::proto::zitadel::user::v1::{AuthFactorState, WebAuthNToken};
use zitadel_passkey::proto::zitadel::v1::ObjectDetails;
use zitadel_passkey::{Code, wkt};

use crate::codes::{NewCode, code_text};
use crate::error::MockError;
use crate::outbox::OutboxMessage;
use crate::state::{Shared, State};
use crate::token_digest::TokenDigest;
use crate::users::DEFAULT_ORG_ID;

/// Row 1.
pub(crate) const AUTH_HEADER_MISSING: MockError =
    MockError::fixed(Code::Unauthenticated, None, "auth header missing");
/// Row 2.
pub(crate) const INVALID_AUTH_HEADER: MockError = MockError::fixed(
    Code::Unauthenticated,
    Some("AUTH-7fs1e"),
    "invalid auth header",
);
/// Row 3.
pub(crate) const TOKEN_INVALID: MockError = MockError::fixed(
    Code::Unauthenticated,
    Some("AUTH-7fs1e"),
    "Errors.Token.Invalid",
);
/// Row 4.
pub(crate) const ORG_NOT_FOUND: MockError = MockError::fixed(
    Code::PermissionDenied,
    Some("AUTH-Bs7Ds"),
    "Organisation doesn't exist",
);
/// Row 5.
pub(crate) const USER_ID_MISSING: MockError = MockError::fixed(
    Code::FailedPrecondition,
    Some("COMMAND-GVfg3"),
    "Errors.IDMissing",
);
/// Row 6.
pub(crate) const TOKEN_ID_MISSING: MockError = MockError::fixed(
    Code::InvalidArgument,
    Some("MOCK-tkn01"),
    "Errors.IDMissing",
);
/// Row 7.
pub(crate) const PASSKEY_NOT_FOUND: MockError = MockError::fixed(
    Code::NotFound,
    Some("MOCK-tkn02"),
    "Errors.User.WebAuthN.NotFound",
);

/// The header naming the organisation a call acts in.
pub(crate) const ORG_HEADER: http::HeaderName = http::HeaderName::from_static("x-zitadel-orgid");
/// The caller's deadline on gRPC and gRPC-web.
pub(crate) const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// The longest token accepted as well-formed.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The outcome of a call, for the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub code: Code,
    pub error_id: Option<String>,
}

/// What the server front end learnt about an RPC call, handed to the handlers: as an argument
/// to the REST handler (`rest::call_rule`), in the request extensions to tonic's and the OAuth
/// endpoints'.
#[derive(Debug, Clone)]
pub(crate) struct CallInfo {
    /// Where links point (the public origin if configured).
    pub origin: Origin,
    /// A scripted error to answer an RPC with instead of running the handler.
    pub injected: Option<MockError>,
    /// A scripted OAuth error to answer an OAuth endpoint with instead of running it. Never set
    /// together with `injected`: a fault kind applies to RPCs or to OAuth endpoints
    /// (`FaultKind::applies_to`).
    pub injected_oauth: Option<crate::oauth::OAuthError>,
    /// A scripted delay before the handler runs.
    pub delay: Option<std::time::Duration>,
    /// Filled by the handler for the journal.
    pub outcome: Arc<OnceLock<Outcome>>,
    /// The digest of the request's bearer token, hashed once by the front end for the journal
    /// and reused for the derived user ID.
    pub token_digest: Option<TokenDigest>,
}

/// The origin of links: the configured public origin, or the scheme and host of the request.
/// Kept as parts (cheap clones of the request's bytes) and only formatted into a link.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// `--public-origin`.
    Public(Arc<str>),
    /// HTTP/2's `:authority`.
    Authority(&'static str, http::uri::Authority),
    /// HTTP/1.1's `Host` header.
    Host(&'static str, http::HeaderValue),
    /// Neither (an HTTP/1.0 request without `Host`).
    Unknown(&'static str),
}

impl Origin {
    /// Appends `scheme://host[:port]` (or the public origin).
    pub(crate) fn write(&self, out: &mut String) {
        let (scheme, host) = match self {
            Origin::Public(origin) => {
                out.push_str(origin);
                return;
            }
            Origin::Authority(scheme, authority) => (scheme, authority.as_str()),
            Origin::Host(scheme, host) => (scheme, host.to_str().unwrap_or("localhost")),
            Origin::Unknown(scheme) => (scheme, "localhost"),
        };
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(host);
    }
}

/// Appends a query value, percent-encoded only when it needs to be (IDs are digits).
fn push_param(out: &mut String, value: &str) {
    if value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push_str(value);
    } else {
        let _ = write!(out, "{}", utf8_percent_encode(value, NON_ALPHANUMERIC));
    }
}

/// The request headers the behaviour looks at.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caller<'a> {
    pub authorization: Option<&'a [u8]>,
    pub org_id: Option<&'a [u8]>,
}

/// The authenticated user of a call.
struct Me {
    user_id: String,
    org_id: String,
}

/// The token of an `authorization` value as ZITADEL finds it: it splits the value on `Bearer `
/// and wants exactly two pieces, the token being the second (docs/wire-contract.md §3, row 2).
/// So the scheme must occur exactly once; whatever stands before it is ignored, and a token
/// that itself contains `Bearer ` makes three pieces and is refused.
pub(crate) fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"Bearer ";
    let at = header.windows(SCHEME.len()).position(|w| w == SCHEME)?;
    let token = &header[at + SCHEME.len()..];
    let again = token.windows(SCHEME.len()).any(|w| w == SCHEME);
    (!again).then_some(token)
}

fn well_formed(token: &[u8]) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.iter().all(|b| (0x21..=0x7e).contains(b))
}

fn timestamp(time: std::time::SystemTime) -> Option<wkt::Timestamp> {
    wkt::Timestamp::try_from(time).ok()
}

impl Shared {
    /// Rows 1–5 of the behaviour table.
    /// `digest` is the token's digest if the front end already computed it from the same header.
    fn authenticate(
        &self,
        state: &mut State,
        caller: Caller<'_>,
        digest: Option<TokenDigest>,
    ) -> Result<Me, MockError> {
        let header = caller.authorization.ok_or(AUTH_HEADER_MISSING)?;
        let token = bearer_token(header).ok_or(INVALID_AUTH_HEADER)?;
        if !well_formed(token) {
            return Err(TOKEN_INVALID);
        }
        // Checked above: visible ASCII only.
        let token = std::str::from_utf8(token).map_err(|_| TOKEN_INVALID)?;
        let me = match state.users.token(token) {
            Some(user) => Me {
                user_id: user.user_id.clone(),
                org_id: user.org_id.clone(),
            },
            // The mock's own tokens: an issued access token, or invalid (never a derived user).
            None if crate::oauth::is_mock_token(token) => {
                let user = state
                    .oauth
                    .tokens
                    .api_user(token, self.clock.now())
                    .ok_or(TOKEN_INVALID)?;
                Me {
                    user_id: user.user_id,
                    org_id: user.org_id,
                }
            }
            None if self.config.strict => return Err(TOKEN_INVALID),
            None => Me {
                user_id: digest
                    .unwrap_or_else(|| TokenDigest::of(token.as_bytes()))
                    .user_id(),
                org_id: DEFAULT_ORG_ID.to_owned(),
            },
        };
        if let Some(org) = caller.org_id.filter(|org| !org.is_empty()) {
            let known = std::str::from_utf8(org).is_ok_and(|org| state.users.knows_org(org));
            if !known {
                return Err(ORG_NOT_FOUND);
            }
        }
        if me.user_id.is_empty() {
            return Err(USER_ID_MISSING);
        }
        Ok(me)
    }

    /// Runs one RPC: the injected fault or the checks, then `body` under the state lock, and
    /// records the outcome for the journal.
    fn run<R>(
        &self,
        info: Option<&CallInfo>,
        caller: Caller<'_>,
        body: impl FnOnce(&Shared, &mut State, Me, &Origin) -> Result<R, MockError>,
    ) -> Result<R, MockError> {
        let result = match info.and_then(|info| info.injected.clone()) {
            Some(error) => Err(error),
            None => {
                let mut state = self.state();
                let digest = info.and_then(|info| info.token_digest);
                self.authenticate(&mut state, caller, digest)
                    .and_then(|me| {
                        const LOCAL: Origin = Origin::Unknown("http");
                        let origin = info.map_or(&LOCAL, |info| &info.origin);
                        body(self, &mut state, me, origin)
                    })
            }
        };
        if let Some(info) = info {
            let outcome = match &result {
                Ok(_) => Outcome {
                    code: Code::Ok,
                    error_id: None,
                },
                Err(error) => Outcome {
                    code: error.code(),
                    error_id: error.id().map(str::to_owned),
                },
            };
            let _ = info.outcome.set(outcome);
        }
        result
    }

    /// Creates a code for `me` and returns (sequence, link, code ID).
    fn create_code(
        &self,
        state: &mut State,
        me: &Me,
        origin: &Origin,
        sent: bool,
    ) -> (u64, String, std::time::SystemTime) {
        let now = self.clock.now();
        let sequence = state.users.bump_sequence(&me.user_id, &me.org_id);
        let id = state.ids.new_id_number();
        let code = state.ids.new_code();
        let mut link = String::with_capacity(160);
        origin.write(&mut link);
        link.push_str(crate::login::LOGIN_PATH);
        link.push_str("?userID=");
        push_param(&mut link, &me.user_id);
        link.push_str("&orgID=");
        push_param(&mut link, &me.org_id);
        link.push_str("&codeID=");
        link.push_str(itoa::Buffer::new().format(id));
        link.push_str("&code=");
        link.push_str(code_text(&code));
        if sent {
            state.outbox.push(OutboxMessage {
                time: now,
                user_id: me.user_id.clone(),
                org_id: me.org_id.clone(),
                code_id: id.to_string(),
                link: link.clone(),
            });
        }
        state.codes.insert(&NewCode {
            id,
            code,
            link: &link,
            user_id: &me.user_id,
            org_id: &me.org_id,
            created: now,
            // Cannot overflow with the TTL bounded at start; never panic if it somehow did.
            expires: now.checked_add(self.config.code_ttl).unwrap_or(now),
            sent,
        });
        (sequence, link, now)
    }

    pub(crate) fn add_my_passwordless_link(
        &self,
        info: Option<&CallInfo>,
        caller: Caller<'_>,
    ) -> Result<AddMyPasswordlessLinkResponse, MockError> {
        self.run(info, caller, |shared, state, me, origin| {
            let (sequence, link, now) = shared.create_code(state, &me, origin, false);
            Ok(AddMyPasswordlessLinkResponse {
                details: Some(ObjectDetails {
                    sequence,
                    creation_date: timestamp(now),
                    change_date: None,
                    resource_owner: me.org_id,
                }),
                link,
                expiration: wkt::Duration::try_from(shared.config.code_ttl).ok(),
            })
        })
    }

    pub(crate) fn send_my_passwordless_link(
        &self,
        info: Option<&CallInfo>,
        caller: Caller<'_>,
    ) -> Result<SendMyPasswordlessLinkResponse, MockError> {
        self.run(info, caller, |shared, state, me, origin| {
            let (sequence, _link, now) = shared.create_code(state, &me, origin, true);
            Ok(SendMyPasswordlessLinkResponse {
                details: Some(ObjectDetails {
                    sequence,
                    creation_date: timestamp(now),
                    change_date: None,
                    resource_owner: me.org_id,
                }),
            })
        })
    }

    pub(crate) fn list_my_passwordless(
        &self,
        info: Option<&CallInfo>,
        caller: Caller<'_>,
    ) -> Result<ListMyPasswordlessResponse, MockError> {
        self.run(info, caller, |_, state, me, _| {
            let result = state
                .users
                .passkeys(&me.user_id)
                .iter()
                .map(|passkey| WebAuthNToken {
                    id: passkey.id.clone(),
                    state: AuthFactorState::Ready as i32,
                    name: passkey.name.clone(),
                })
                .collect();
            Ok(ListMyPasswordlessResponse { result })
        })
    }

    pub(crate) fn remove_my_passwordless(
        &self,
        info: Option<&CallInfo>,
        caller: Caller<'_>,
        token_id: &str,
    ) -> Result<RemoveMyPasswordlessResponse, MockError> {
        self.run(info, caller, |shared, state, me, _| {
            if token_id.is_empty() {
                return Err(TOKEN_ID_MISSING);
            }
            let sequence = state
                .users
                .remove_passkey(&me.user_id, token_id)
                .ok_or(PASSKEY_NOT_FOUND)?;
            Ok(RemoveMyPasswordlessResponse {
                details: Some(ObjectDetails {
                    sequence,
                    creation_date: None,
                    change_date: timestamp(shared.clock.now()),
                    resource_owner: me.org_id,
                }),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_split_as_zitadel_does() {
        let cases: [(&[u8], Option<&[u8]>); 10] = [
            (b"Bearer abc", Some(b"abc")),
            (b"Bearer ", Some(b"")),
            (b"Bearer", None),
            (b"bearer abc", None),
            (b"BEARER abc", None),
            (b"Basic dXNlcjpwdw==", None),
            (b"Bearerabc", None),
            (b"Bearer a Bearer b", None),
            (b"Bearer Bearer abc", None),
            // What stands before the one `Bearer ` is ignored, as by a split.
            (b"Basic Bearer abc", Some(b"abc")),
        ];
        for (header, token) in cases {
            assert_eq!(
                bearer_token(header),
                token,
                "{}",
                String::from_utf8_lossy(header)
            );
        }
    }
}
