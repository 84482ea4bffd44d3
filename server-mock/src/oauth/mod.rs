//! OAuth 2.0 Device Authorization (RFC 8628) as ZITADEL serves it, so that a person signs in to
//! a terminal tool: the tool starts an authorization, shows a URL and a user code, and polls the
//! token endpoint while the person opens `/device`, enters the code and presses Allow. The access
//! tokens it gets are accepted by the mock's API (the [`behaviour`](crate::behaviour) table,
//! row 3) when their scope has [`API_AUDIENCE_SCOPE`].
//!
//! Every `POST` endpoint takes an `application/x-www-form-urlencoded` body and answers JSON with
//! `Cache-Control: no-store`; every error is `{"error": ..., "error_description": ...}`, HTTP 400
//! unless the table says otherwise. A parameter sent empty counts as not sent (RFC 6749 §3.1);
//! parameters the table does not name are ignored. Times are on the mock's clock
//! (`POST /__mock/clock/advance` and `MockServer::advance_clock` expire codes and tokens without
//! waiting).
//!
//! | request | condition (checked in this order) | answer |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration` | – | 200: `issuer` (the origin the request came in on, or `--public-origin`), `device_authorization_endpoint`, `token_endpoint`, `revocation_endpoint` (under `<issuer>/oauth/v2/`), `grant_types_supported` (the device code grant and `refresh_token`), `scopes_supported` (`openid`, `profile`, `email`, `offline_access` and the API audience), `token_endpoint_auth_methods_supported` and `revocation_endpoint_auth_methods_supported` (`["none"]`); nothing else (no `authorization_endpoint`, no `jwks_uri`: the mock signs nothing) |
//! | any `POST` below | the body is not a form (another `content-type`, not UTF-8 once decoded, over 64 KiB), a parameter comes twice, more than 32 parameters, `client_id` or `scope` over 1 KiB or another value over 4 KiB | `invalid_request` |
//! | `POST /oauth/v2/device_authorization` | `client_id` missing; with `--strict`, not one of the `--client-id`s | 401 `invalid_client` |
//! | | otherwise | 200: `device_code` (32 random bytes, base64url), `user_code` (`XXXX-XXXX`, letters from `BCDFGHJKLMNPQRSTVWXZ`), `verification_uri` (`<issuer>/device`), `verification_uri_complete` (`…?user_code=XXXX-XXXX`), `expires_in` 300, `interval` (`--device-interval`, default 5, in whole seconds rounded up) |
//! | `POST /oauth/v2/token` | `grant_type` missing, or neither of the two below | `unsupported_grant_type` |
//! | | client as above | 401 `invalid_client` |
//! | `grant_type=urn:ietf:params:oauth:grant-type:device_code` | `device_code` missing | `invalid_request` |
//! | | unknown, already exchanged, evicted, or started by another client | `invalid_grant` |
//! | | 300 s or more after the start | `expired_token` |
//! | | denied | `access_denied` |
//! | | still pending, polled again less than the interval after the last poll | `slow_down`, and the interval grows by 5 s (RFC 8628 §3.5) |
//! | | still pending | `authorization_pending` |
//! | | approved | 200 with the tokens (below); the device code is used up |
//! | `grant_type=refresh_token` | `refresh_token` missing | `invalid_request` |
//! | | unknown, rotated, revoked, evicted, another client's, unused for 30 days, or 90 days after the sign-in (ZITADEL's defaults) | `invalid_grant` |
//! | | `scope` names a scope the sign-in does not have | `invalid_scope` |
//! | | otherwise | 200 with a new access token (for the `scope` asked for, default all of the sign-in's) and a new refresh token; the old refresh token stops working |
//! | `POST /oauth/v2/revoke` | client as above | 401 `invalid_client` |
//! | | `token` missing | `invalid_request` |
//! | | otherwise | 200, empty body (RFC 7009): the token stops working, and a refresh token takes the access tokens of its sign-in along; an unknown, expired or another client's token is left alone without an error; `token_type_hint` is not needed |
//! | `GET /device[?user_code=..]` | – | HTML "Device Authorization": the user code (prefilled from the query), a "User ID" (prefilled with the default approver, below), Allow and Deny; for a user code in the query, the client and scopes it asks for, or the error below |
//! | `POST /device` (`user_code`, `user_id`, `action`) | `action` is neither `allow` nor `deny` | the form again with "Press Allow or Deny" (`MOCK-dev03`) |
//! | | the code is unknown, expired, exchanged or already decided (it may come without the dash, in any case) | the form again with "The user code is invalid or has expired" (`MOCK-dev01`) |
//! | | `allow` with an empty user ID | the form again with "Enter the ID of the user to sign in as" (`MOCK-dev02`) |
//! | | `allow` | "Device authorization approved": the next poll gets tokens for that user, in the user's org |
//! | | `deny` | "Device authorization denied": the next poll gets `access_denied` |
//!
//! Every `/device` page is HTTP 200, errors included, as ZITADEL's login UI answers, and every
//! value on it is HTML-escaped.
//!
//! The token answer: `access_token` (`mock_at_` and 43 base64url characters), `token_type`
//! `Bearer`, `expires_in` (`--token-ttl`, default 43 200 s, ZITADEL's 12 h), `scope` (the scopes
//! asked for, space-separated, each once) and, only if the scope has [`OFFLINE_ACCESS_SCOPE`],
//! `refresh_token` (`mock_rt_` and 43 base64url characters). No `id_token`: the mock signs
//! nothing, where ZITADEL adds one when the scope has `openid`.
//!
//! The API takes an issued access token as the user who approved (in the org the approval
//! chose: the user's, or the default org for a derived or unknown user) until it expires or is
//! revoked, strict mode included, and only if its scope has [`API_AUDIENCE_SCOPE`]. Any other
//! token starting with `mock_at_` or `mock_rt_` (expired, revoked, from before a reset, evicted,
//! without the audience, a refresh token) gets UNAUTHENTICATED `AUTH-7fs1e`
//! `Errors.Token.Invalid` in every mode: the prefixes mark the mock's own tokens, so they are
//! never taken as token-derived users.
//!
//! The mock has no passwords: whoever approves chooses the user, on the page, with
//! `POST /__mock/device/approve` or with `MockServer::approve_device`. Without a user ID the
//! admin API and the Rust API approve as the default approver: the first `--user` with a user
//! ID, else the user non-strict mode derives from the token [`DEFAULT_APPROVER_TOKEN`]. The org
//! is the one given to the admin API, else the user's, else the default org. Device codes, user
//! codes and tokens come from the operating system's randomness, not from `--seed`.
//!
//! Faults apply to the three `POST` endpoints as the methods `DeviceAuthorization`, `Token` and
//! `Revoke` (transport `json`): `oauth_error` (only here), `delay`, `drop_before_handler`,
//! `drop_after_handler` and `proxy_status`; `error` (a gRPC status) never does. The journal
//! records these calls with `code` 0 for a 200 and otherwise the gRPC code of the HTTP status
//! (3 for 400, 16 for 401, 13 for 500, 14 for 503), and the OAuth `error` as `error_id`; the
//! discovery document and the page are neither faulted nor journaled. At most
//! [`DEVICE_CAPACITY`] authorizations and [`TOKEN_CAPACITY`] access and refresh tokens each are
//! kept (the oldest go first); device codes and tokens are never logged, journaled, listed or
//! shown by `Debug`.

mod approve;
mod bounded;
mod devices;
mod endpoints;
mod error;
mod form;
mod page;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

pub use devices::{DeviceError, DeviceStatus, PendingDevice};
pub(crate) use error::OAuthError;

use crate::state::Shared;

/// OpenID Connect discovery.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Starts a device authorization.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/oauth/v2/device_authorization";
/// Polls for tokens and refreshes them.
pub const TOKEN_PATH: &str = "/oauth/v2/token";
/// Revokes a token.
pub const REVOKE_PATH: &str = "/oauth/v2/revoke";
/// The page where the person enters the user code (`verification_uri`).
pub const DEVICE_PAGE_PATH: &str = "/device";

/// The scope an access token needs for ZITADEL's API to take it.
pub const API_AUDIENCE_SCOPE: &str = "urn:zitadel:iam:org:project:id:zitadel:aud";
/// The scope that gets a refresh token.
pub const OFFLINE_ACCESS_SCOPE: &str = "offline_access";
/// The device code grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The refresh token grant type.
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";

/// The prefix of every access token the mock issues.
pub const ACCESS_TOKEN_PREFIX: &str = "mock_at_";
/// The prefix of every refresh token the mock issues.
pub const REFRESH_TOKEN_PREFIX: &str = "mock_rt_";

/// How long a device authorization can be approved and polled (`expires_in`), ZITADEL's default.
pub const DEVICE_CODE_TTL: Duration = Duration::from_secs(300);
/// The polling interval a client is told (`interval`) by default, ZITADEL's.
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(5);
/// How much `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// How long an access token lives when no TTL is configured: ZITADEL's 12 hours.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(43_200);
/// A refresh token unused this long stops working (ZITADEL's default idle expiration).
pub const REFRESH_IDLE_TTL: Duration = Duration::from_secs(30 * 86_400);
/// Refresh tokens stop working this long after the sign-in (ZITADEL's default).
pub const REFRESH_TTL: Duration = Duration::from_secs(90 * 86_400);

/// At most this many device authorizations are kept (the oldest go first).
pub const DEVICE_CAPACITY: usize = 10_000;
/// At most this many access tokens, and as many refresh tokens, are kept (the oldest go first).
pub const TOKEN_CAPACITY: usize = 10_000;

/// The token whose derived user approves when no user is named and no `--user` has a user ID.
pub const DEFAULT_APPROVER_TOKEN: &str = "mock-device-approver";

/// The OAuth endpoints as fault and journal methods.
pub const METHODS: [&str; 3] = ["DeviceAuthorization", "Token", "Revoke"];

/// The OAuth error codes an `oauth_error` fault can answer with: RFC 6749 §5.2's, RFC 8628
/// §3.5's, RFC 7009 §2.2.1's, and RFC 6749 §4.1.2.1's two for a server in trouble.
pub const ERROR_CODES: [&str; 13] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
    "unsupported_token_type",
    "server_error",
    "temporarily_unavailable",
];

/// Whether `method` names one of the OAuth endpoints ([`METHODS`]).
pub(crate) fn is_method(method: &str) -> bool {
    METHODS.contains(&method)
}

/// The fault and journal method of a plain HTTP request, if it is an OAuth endpoint.
pub(crate) fn method_of(method: &http::Method, path: &str) -> Option<&'static str> {
    if method != http::Method::POST {
        return None;
    }
    match path {
        DEVICE_AUTHORIZATION_PATH => Some(METHODS[0]),
        TOKEN_PATH => Some(METHODS[1]),
        REVOKE_PATH => Some(METHODS[2]),
        _ => None,
    }
}

/// Whether a bearer token has the shape of one the mock issues (it is then never a derived user).
pub(crate) fn is_mock_token(token: &str) -> bool {
    token.starts_with(ACCESS_TOKEN_PREFIX) || token.starts_with(REFRESH_TOKEN_PREFIX)
}

/// The OAuth routes (the caller supplies the state).
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(DISCOVERY_PATH, get(endpoints::discovery))
        .route(
            DEVICE_AUTHORIZATION_PATH,
            post(endpoints::device_authorization),
        )
        .route(TOKEN_PATH, post(endpoints::token))
        .route(REVOKE_PATH, post(endpoints::revoke))
        .route(DEVICE_PAGE_PATH, get(page::open).post(page::submit))
}

/// The device authorizations and the tokens issued for them, part of the mock's state (under
/// one lock with the users, so that a token is checked and its user found at once).
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    pub devices: devices::Devices,
    pub tokens: tokens::Tokens,
}
