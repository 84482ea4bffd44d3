//! A mock ZITADEL serving the passkey calls over gRPC, gRPC-web and REST/JSON on one port.
//!
//! Use it in-process from Rust tests, or run the `zitadel-passkey-mock` binary in CI:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use zitadel_passkey_mock::{Code, Fault, MockServer};
//!
//! let mock = MockServer::builder().user("token-1", "200000000000000001", "300000000000000001").start().await?;
//! let endpoint = mock.uri(); // "http://127.0.0.1:PORT": gRPC, gRPC-web and REST all here
//! let down = Fault::error(Code::Unavailable, "", "upstream down");
//! mock.push_fault(down.method("AddMyPasswordlessLink"));
//! // ... call it ...
//! for entry in mock.journal() {
//!     println!("{} {} -> {:?}", entry.transport, entry.method, entry.code);
//! }
//! mock.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What it answers
//!
//! The behaviour (every check, error code, id and message, and what each RPC does) is one table in
//! the [`behaviour`] module; the login page's in [`login`], where the link's user registers a
//! passkey with a real WebAuthn ceremony that the mock verifies, so a test can follow a link to
//! a READY passkey in a browser, with a software authenticator, or (with
//! [`MockServerBuilder::login_shortcut`]) with a plain form.
//!
//! A person signs in against the mock with OAuth 2.0 Device Authorization (RFC 8628): the
//! discovery document, `/oauth/v2/device_authorization`, `/oauth/v2/token` (with refresh token
//! rotation), `/oauth/v2/revoke` and the `/device` page, whose Allow names the user (the mock has
//! no passwords); the access tokens it issues work on the API as that user. The endpoints'
//! table is the [`oauth`] module's; tests approve with [`MockServer::approve_device`].
//!
//! Content types decide the transport (docs/wire-contract.md §4): `application/grpc-web*` goes to gRPC-web
//! (tonic-web, HTTP/1.1 or HTTP/2), other `application/grpc*` over HTTP/2 to gRPC, everything else
//! (`application/grpc` over HTTP/1.1 included) to the REST gateway, the login page and the admin
//! API. REST routes come from the generated HTTP rule table (`zitadel_passkey::proto::http_rules::ALL`).
//!
//! # Users
//!
//! Tokens added with [`MockServerBuilder::user`] (`--user TOKEN=USER_ID@ORG_ID`) map to their user.
//! Without strict mode any well-formed bearer token (visible ASCII, at most 8 KiB) is accepted and
//! mapped to a stable user ID derived from it ([`state::derived_user_id`]) in
//! [`state::DEFAULT_ORG_ID`]; with strict mode only configured tokens are. In every mode an access
//! token the device authorization flow issued ([`oauth`]) is the user who approved it, and any
//! other token with the prefix `mock_at_` or `mock_rt_` is refused. A user with an empty ID
//! (`TOKEN=@ORG_ID`) stands for a token without a user (FAILED_PRECONDITION `COMMAND-GVfg3`).
//! Known orgs (for `x-zitadel-orgid`) are the default org and every configured user's org.
//!
//! # Admin API
//!
//! JSON under [`admin::ADMIN_PREFIX`] (`/__mock`), never subject to faults or the journal:
//!
//! | request | effect / answer |
//! |---|---|
//! | `GET /__mock/health` | `{"status":"ok"}` |
//! | `GET /__mock/journal` | the journal, a list of [`JournalEntry`] |
//! | `GET /__mock/users` | the users ([`UserInfo`]; token fingerprints, never tokens) |
//! | `POST /__mock/users` `{"token","user_id","org_id"}` | adds a user (201) |
//! | `POST /__mock/users/{user_id}/passkeys` `{"name"}` | adds a READY passkey, answers `{"id"}` (201) |
//! | `GET /__mock/codes` | live codes ([`LiveCode`], including the codes) |
//! | `GET /__mock/outbox` | links SendMyPasswordlessLink "e-mailed" ([`OutboxMessage`]) |
//! | `POST /__mock/faults` `{"kind", ...}` | scripts a fault (201), see below |
//! | `GET /__mock/faults` | pending faults |
//! | `DELETE /__mock/faults` | drops every pending fault (204) |
//! | `POST /__mock/clock/advance` `{"seconds"}` | moves the mock's clock forward (expires codes, device authorizations and tokens) |
//! | `GET /__mock/device` | device authorizations not expired and not exchanged yet ([`PendingDevice`]: user code, client, scopes, status, the approved user; never device codes or tokens) |
//! | `POST /__mock/device/approve` `{"user_code", "user_id"?, "org_id"?}` | approves it (default: the first `--user`, else a fixed derived user; the user's org); answers the [`PendingDevice`]; 404 unknown or expired code, 409 already decided |
//! | `POST /__mock/device/deny` `{"user_code"}` | denies it; answers as approve |
//! | `POST /__mock/reset` | back to the start: configured users only, RNG re-seeded, journal, codes, outbox, device authorizations, issued tokens and faults cleared |
//!
//! A fault is `{"kind": K, "times": N, "method": "AddMyPasswordlessLink", "transport": "grpc"|"grpc-web"|"json"}`
//! (`times` defaults to 1, `method` and `transport` to any) with `K` one of
//! `"error"` (+ `"code"`, `"id"`, `"message"`), `"delay"` (+ `"millis"`), `"drop_before_handler"`,
//! `"drop_after_handler"`, `"proxy_status"` (+ `"status"`, default 503), `"oauth_error"` (+
//! `"error"`, `"description"`). See [`Fault`]. A field that does not belong to the kind
//! (`"millis"` on an error, a typo) gets 400 with the reason. The OAuth endpoints are the
//! methods `DeviceAuthorization`, `Token` and `Revoke` (transport `"json"`): `"error"` never
//! applies to them and `"oauth_error"` only to them.
//!
//! # Limits
//!
//! Request messages and REST bodies over 64 KiB get RESOURCE_EXHAUSTED (REST: 413). HTTP/2 allows
//! 256 concurrent streams per connection and has reset-flood protection on. The journal keeps the
//! last 10 000 calls and the outbox the last 10 000 messages; at most 10 000 codes, 10 000 device
//! authorizations, 10 000 access tokens and 10 000 refresh tokens are kept (the oldest go first). Users derived from tokens (non-strict mode) are kept for the mock's
//! lifetime (their sequences must survive), so a client that sends millions of distinct tokens
//! grows the mock by about 200 bytes each; `POST /__mock/reset` drops them.

pub mod admin;
pub mod behaviour;
mod clock;
mod codes;
mod cors;
mod error;
mod fault;
mod grpc;
mod journal;
mod link_json;
pub mod login;
pub mod oauth;
mod outbox;
/// The generated tonic server traits (messages come from `zitadel_passkey::proto`).
#[path = "generated/mod.rs"]
pub mod proto;
mod rest;
mod routes;
mod server;
pub mod state;
mod token_digest;
mod users;
mod watchdog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::{MockError, http_status};
pub use fault::{Fault, FaultKind};
pub use journal::{JournalEntry, token_fingerprint};
pub use oauth::{DeviceError, DeviceStatus, PendingDevice};
pub use state::{LiveCode, OutboxMessage, PasskeyInfo, UserInfo};
/// The gRPC status codes, as the SDK names them (a [`Fault::error`]'s code, [`MockError::code`],
/// the journal's `code`).
pub use zitadel_passkey::Code;
/// The transports, as the SDK names them (the journal's `transport`, a fault's filter).
pub use zitadel_passkey::Transport;

use state::{Config, Shared};

/// The code TTL when none is configured: one hour, as in ZITADEL.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(3600);

/// The longest code TTL: the most a `google.protobuf.Duration` can carry (10 000 years).
pub const MAX_CODE_TTL: Duration = Duration::from_secs(315_576_000_000);

/// A running mock. Dropping it stops the server (in-flight calls finish in the background);
/// [`MockServer::shutdown`] stops it and waits.
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    scheme: &'static str,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Configures a [`MockServer`].
pub struct MockServerBuilder {
    listen: SocketAddr,
    config: Config,
    tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: Config {
                strict: false,
                seed: rand::random(),
                code_ttl: DEFAULT_CODE_TTL,
                public_origin: None,
                login_shortcut: false,
                fixed_clock: None,
                users: Vec::new(),
                token_ttl: oauth::DEFAULT_TOKEN_TTL,
                client_ids: Vec::new(),
                device_interval: oauth::DEFAULT_DEVICE_INTERVAL,
            },
            tls: None,
        }
    }
}

/// Leaves out the TLS key and the tokens.
impl std::fmt::Debug for MockServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServerBuilder")
            .field("listen", &self.listen)
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl MockServerBuilder {
    /// The address to bind (default `127.0.0.1:0`, a free port on loopback).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Accept only configured tokens (default: any well-formed token).
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.config.strict = strict;
        self
    }

    /// Maps `token` to `user_id` in `org_id` (an empty `user_id` is a token without a user).
    #[must_use]
    pub fn user(mut self, token: &str, user_id: &str, org_id: &str) -> Self {
        self.config
            .users
            .push((token.to_owned(), user_id.to_owned(), org_id.to_owned()));
        self
    }

    /// Seeds the ID and code generator: the same seed and calls give the same IDs and codes.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// How long codes live (the `expiration` answered; default one hour). At most
    /// [`MAX_CODE_TTL`], the longest a `google.protobuf.Duration` can say; [`Self::start`]
    /// refuses more.
    #[must_use]
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.config.code_ttl = ttl;
        self
    }

    /// The origin of links (default: the scheme and host each request came in on).
    #[must_use]
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        let origin: String = origin.into();
        self.config.public_origin = Some(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Let the login page also take a plain form `POST` (`userID`, `orgID`, `codeID`, `code`,
    /// `name`, no WebAuthn credential) that registers a READY passkey, for tests that follow a
    /// link without a browser. The mock's own extension: ZITADEL's page has no such path.
    /// Default off: the page then only completes a real WebAuthn registration.
    #[must_use]
    pub fn login_shortcut(mut self, enabled: bool) -> Self {
        self.config.login_shortcut = enabled;
        self
    }

    /// How long the OAuth access tokens the mock issues live (`expires_in`; default 12 hours,
    /// ZITADEL's). At most [`MAX_CODE_TTL`]; [`Self::start`] refuses more.
    #[must_use]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.config.token_ttl = ttl;
        self
    }

    /// An OAuth client ID strict mode accepts at the device authorization, token and revocation
    /// endpoints (repeatable). Without strict mode any non-empty client ID is accepted; with
    /// strict mode and none configured, none is.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.config.client_ids.push(client_id.into());
        self
    }

    /// The polling interval a device authorization starts with (`interval`, in whole seconds
    /// rounded up; `slow_down` adds 5 s). Default 5 s, ZITADEL's. The mock's own extension, so
    /// that tests need not wait 5 s per poll: ZITADEL's interval is not configurable.
    #[must_use]
    pub fn device_interval(mut self, interval: Duration) -> Self {
        self.config.device_interval = interval;
        self
    }

    /// A clock that stands still at `time` (for byte-identical journals and answers).
    #[must_use]
    pub fn fixed_clock(mut self, time: SystemTime) -> Self {
        self.config.fixed_clock = Some(time);
        self
    }

    /// Serve TLS (ALPN `h2` and `http/1.1`) with this PEM certificate chain and private key.
    #[must_use]
    pub fn tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Binds and starts serving; returns once the port accepts connections. Must run inside a
    /// Tokio runtime (the server runs as tasks on it).
    pub async fn start(self) -> std::io::Result<MockServer> {
        if self.config.code_ttl > MAX_CODE_TTL {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the code TTL must be at most {} seconds (a google.protobuf.Duration)",
                    MAX_CODE_TTL.as_secs()
                ),
            ));
        }
        if self.config.token_ttl > MAX_CODE_TTL {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the token TTL must be at most {} seconds",
                    MAX_CODE_TTL.as_secs()
                ),
            ));
        }
        let tls = match &self.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(self.config));
        let app = Arc::new(server::App::new(shared.clone(), tls.is_some()));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, tls, app, stopped));
        tracing::info!(%addr, "mock ZITADEL listening");
        Ok(MockServer {
            shared,
            addr,
            scheme: if self.tls.is_some() { "https" } else { "http" },
            stop,
            task: Some(task),
        })
    }
}

fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("invalid TLS certificate PEM", &e))?;
    if certs.is_empty() {
        return Err(invalid(
            "invalid TLS certificate PEM",
            &"no certificate found",
        ));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid("invalid TLS key PEM", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS setup", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("TLS certificate and key", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

impl MockServer {
    /// Starts a mock on `127.0.0.1` with a free port, non-strict, with a random seed.
    pub async fn start() -> std::io::Result<MockServer> {
        Self::builder().start().await
    }

    /// A builder for other settings.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS): the endpoint for every transport.
    pub fn uri(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The seed of the ID and code generator (useful when it was random).
    pub fn seed(&self) -> u64 {
        self.shared.config.seed
    }

    /// Every RPC call so far, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal()
    }

    /// Maps `token` to `user_id` in `org_id` (an empty `user_id` is a token without a user).
    pub fn add_user(&self, token: &str, user_id: &str, org_id: &str) {
        self.shared.add_user(token, user_id, org_id);
    }

    /// The users the mock knows (configured, added, or derived from tokens that were used).
    pub fn users(&self) -> Vec<UserInfo> {
        self.shared.users()
    }

    /// Gives `user_id` a READY passkey named `name`; returns its token ID.
    pub fn add_passkey(&self, user_id: &str, name: &str) -> String {
        self.shared.add_passkey(user_id, name)
    }

    /// Codes that can still be used, oldest first.
    pub fn live_codes(&self) -> Vec<LiveCode> {
        self.shared.live_codes()
    }

    /// Links SendMyPasswordlessLink "e-mailed", oldest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.shared.outbox()
    }

    /// Scripts a fault for the next matching calls.
    pub fn push_fault(&self, fault: Fault) {
        self.shared.push_fault(fault);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Faults pushed and not used up yet, in order.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.faults()
    }

    /// Moves the mock's clock forward (codes, device authorizations and tokens expire without
    /// waiting).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Approves the device authorization of `user_code` (`XXXX-XXXX`, with or without the dash,
    /// any case), as a person pressing Allow on `/device` would: its next poll gets tokens for
    /// `user_id` in that user's org (the default org for a derived or unknown user). Without a
    /// user ID: the first configured user with one, else the user derived from
    /// [`oauth::DEFAULT_APPROVER_TOKEN`]. Returns the authorization as decided.
    pub fn approve_device(
        &self,
        user_code: &str,
        user_id: Option<&str>,
    ) -> Result<PendingDevice, DeviceError> {
        self.shared.approve_device(user_code, user_id, None)
    }

    /// Denies the device authorization of `user_code`: its next poll gets `access_denied`.
    pub fn deny_device(&self, user_code: &str) -> Result<PendingDevice, DeviceError> {
        self.shared.deny_device(user_code)
    }

    /// The device authorizations not expired and not exchanged for tokens yet, oldest first
    /// (never their device codes).
    pub fn pending_devices(&self) -> Vec<PendingDevice> {
        self.shared.pending_devices()
    }

    /// Back to the state at start: configured users only, RNG re-seeded, journal, codes,
    /// outbox, device authorizations, issued tokens and faults cleared, clock offset undone.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, lets in-flight calls finish (up to 10 s), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("uri", &self.uri())
            .field("strict", &self.shared.config.strict)
            .field("seed", &self.shared.config.seed)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
