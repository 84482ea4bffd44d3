//! Sign in as a person with OAuth 2.0 Device Authorization (RFC 8628), as ZITADEL serves it: the
//! app shows a URL and a short code, the person opens it on any device, signs in there and
//! allows access, and the app gets tokens for that person. [`DeviceTokenProvider`] then hands the
//! access token to a [`Client`](crate::Client) and refreshes it.
//!
//! Written over the SDK's own HTTP client (the hyper client of the transports) rather than with
//! the `oauth2` crate: that would bring an HTTP client of its own (its current releases support
//! only an older reqwest), chrono, a second `rand` and a second `thiserror` to every app for
//! three form `POST`s whose errors we map to [`SignInError`] anyway.
//!
//! ```no_run
//! use zitadel_passkey::{Client, DeviceAuthorization};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let flow = DeviceAuthorization::builder("https://my-instance.zitadel.cloud", "312345678901234567")
//!     .build()?;
//! let pending = flow.start().await?;
//! println!("open {} and enter {}", pending.verification_uri(), pending.user_code());
//! let tokens = pending.wait().await?; // keep `tokens` (it is serde) to skip this next time
//! let client = Client::builder("https://my-instance.zitadel.cloud")
//!     .token_provider(flow.token_provider(tokens))
//!     .build()?;
//! let link = client.add_passkey_link().await?;
//! # Ok(()) }
//! ```

mod error;
mod http;
mod provider;
mod tokens;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::OnceCell;

pub use error::{SignInError, SignInErrorKind};
pub use provider::{DeviceTokenProvider, REFRESH_MARGIN};
pub use tokens::Tokens;

use self::http::OAuthHttp;
use crate::Secret;

/// The scopes asked for by default: `openid`, the audience ZITADEL's API checks (without it the
/// API answers `UNAUTHENTICATED`), and `offline_access` for a refresh token.
pub const DEFAULT_SCOPES: [&str; 3] = [
    "openid",
    "urn:zitadel:iam:org:project:id:zitadel:aud",
    "offline_access",
];

/// How long each request of the flow may take by default.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: the interval grows by this much with each `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The interval when the server names none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Bounds on a server's interval: no busy loop on `0`, no hour-long sleep on a huge one.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// A code lives at most this long here, whatever the server says (ZITADEL's live 5 minutes).
const MAX_EXPIRY: Duration = Duration::from_secs(30 * 60);
/// Network failures in a row while polling before the flow gives up.
const MAX_POLL_FAILURES: u32 = 3;

/// A configured device authorization flow for one ZITADEL instance and one client (a Native
/// application with the Device Code grant; it has no secret). Cheap to clone.
#[derive(Clone)]
pub struct DeviceAuthorization {
    flow: Arc<Flow>,
}

struct Flow {
    http: OAuthHttp,
    issuer: url::Url,
    client_id: String,
    scopes: Vec<String>,
    allow_insecure_http: bool,
    endpoints: OnceCell<Endpoints>,
}

/// Where the flow's requests go: from discovery, else ZITADEL's paths.
#[derive(Debug)]
struct Endpoints {
    device_authorization: url::Url,
    token: url::Url,
    revocation: url::Url,
}

/// The discovery document's fields the flow uses.
#[derive(Deserialize)]
struct Discovery {
    device_authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
}

/// The answer to the device authorization request (RFC 8628 §3.2).
#[derive(Deserialize)]
struct DeviceAnswer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// A token answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// Builds a [`DeviceAuthorization`]; see [`DeviceAuthorization::builder`].
pub struct DeviceAuthorizationBuilder {
    issuer: String,
    client_id: String,
    scopes: Vec<String>,
    timeout: Duration,
    allow_insecure_http: bool,
    roots: Vec<Vec<u8>>,
}

impl DeviceAuthorizationBuilder {
    /// The scopes to ask for, instead of [`DEFAULT_SCOPES`]. Keep
    /// `urn:zitadel:iam:org:project:id:zitadel:aud` for the passkey API, and `offline_access`
    /// for a refresh token.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> DeviceAuthorizationBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How long each request may take (default [`DEFAULT_SIGN_IN_TIMEOUT`]); the wait for the
    /// person is bounded by the code's expiry instead.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> DeviceAuthorizationBuilder {
        self.timeout = timeout;
        self
    }

    /// Allow `http://` to hosts that are not loopback (default: refused; tokens would travel
    /// unencrypted).
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> DeviceAuthorizationBuilder {
        self.allow_insecure_http = allow;
        self
    }

    /// Also trust this root certificate (DER), e.g. a private CA.
    #[must_use]
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> DeviceAuthorizationBuilder {
        self.roots.push(der.into());
        self
    }

    /// Checks the settings and builds the flow; no request is made yet.
    pub fn build(self) -> Result<DeviceAuthorization, SignInError> {
        let issuer = checked_url(&self.issuer, self.allow_insecure_http)?;
        let client_id = self.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(SignInError::new(
                SignInErrorKind::Config,
                "the client ID must not be empty",
            ));
        }
        if self
            .scopes
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(SignInError::new(
                SignInErrorKind::Config,
                "a scope must be one non-empty word",
            ));
        }
        let tls = crate::transport::tls_config(self.roots)
            .map_err(|e| SignInError::new(SignInErrorKind::Config, e.message()))?;
        let http = OAuthHttp::new(&tls, self.timeout);
        Ok(DeviceAuthorization {
            flow: Arc::new(Flow {
                http,
                issuer,
                client_id,
                scopes: self.scopes,
                allow_insecure_http: self.allow_insecure_http,
                endpoints: OnceCell::new(),
            }),
        })
    }
}

impl fmt::Debug for DeviceAuthorizationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorizationBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("timeout", &self.timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("roots", &self.roots.len())
            .finish()
    }
}

impl DeviceAuthorization {
    /// A flow for the instance at `issuer` (e.g. `https://my-instance.zitadel.cloud`) and the
    /// client ID of a Native application with the Device Code grant.
    pub fn builder(
        issuer: impl AsRef<str>,
        client_id: impl Into<String>,
    ) -> DeviceAuthorizationBuilder {
        DeviceAuthorizationBuilder {
            issuer: issuer.as_ref().to_owned(),
            client_id: client_id.into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            timeout: DEFAULT_SIGN_IN_TIMEOUT,
            allow_insecure_http: false,
            roots: Vec::new(),
        }
    }

    /// The instance.
    pub fn issuer(&self) -> &str {
        self.flow.issuer.as_str()
    }

    /// The client ID.
    pub fn client_id(&self) -> &str {
        &self.flow.client_id
    }

    /// Starts a sign-in: the first request of the flow (after discovery, once per flow). Show
    /// the person [`PendingSignIn::verification_uri`] and [`PendingSignIn::user_code`] (or a
    /// QR code of [`PendingSignIn::verification_uri_complete`]), then
    /// [`wait`](PendingSignIn::wait).
    pub async fn start(&self) -> Result<PendingSignIn, SignInError> {
        let endpoints = self.flow.endpoints().await?;
        let scope = self.flow.scopes.join(" ");
        let mut form = vec![("client_id", self.flow.client_id.as_str())];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let answer: DeviceAnswer = self
            .flow
            .http
            .post_form(&endpoints.device_authorization, &form)
            .await?;
        let started = Instant::now();
        let pending = PendingSignIn::from_answer(self.flow.clone(), answer, started)?;
        tracing::debug!(
            expires_in_s = pending.expires_in.as_secs(),
            interval_s = pending.interval.as_secs(),
            "device authorization started"
        );
        Ok(pending)
    }

    /// New tokens for a refresh token (`grant_type=refresh_token`). A server that rotates
    /// refresh tokens (ZITADEL does) sends a new one and the old one stops working; one that
    /// sends none leaves the old one valid, and it is kept in the answer.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens, SignInError> {
        self.flow.refresh(refresh_token).await
    }

    /// Revokes a token (RFC 7009): a refresh token ends the whole sign-in at ZITADEL.
    pub async fn revoke(&self, token: &Secret) -> Result<(), SignInError> {
        let endpoints = self.flow.endpoints().await?;
        self.flow
            .http
            .post_form_no_answer(
                &endpoints.revocation,
                &[
                    ("token", token.expose()),
                    ("client_id", self.flow.client_id.as_str()),
                ],
            )
            .await
    }

    /// A [`TokenProvider`](crate::TokenProvider) for a [`Client`](crate::Client) that hands
    /// out the access token of `tokens` and refreshes it when it is about to expire or the API
    /// rejected it.
    pub fn token_provider(&self, tokens: Tokens) -> DeviceTokenProvider {
        DeviceTokenProvider::new(self.clone(), tokens)
    }
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("issuer", &self.flow.issuer.as_str())
            .field("client_id", &self.flow.client_id)
            .field("scopes", &self.flow.scopes)
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// Discovery once per flow; ZITADEL's paths when the instance has no discovery document.
    async fn endpoints(&self) -> Result<&Endpoints, SignInError> {
        self.endpoints
            .get_or_try_init(|| async {
                let base = self.issuer.as_str().trim_end_matches('/').to_owned();
                let url = |path: &str| {
                    url::Url::parse(&format!("{base}{path}")).map_err(|e| {
                        SignInError::new(SignInErrorKind::Config, format!("invalid issuer: {e}"))
                    })
                };
                let discovery: Option<Discovery> = self
                    .http
                    .get_json(&url("/.well-known/openid-configuration")?)
                    .await?;
                let (device, token, revocation) = match discovery {
                    Some(d) => (
                        d.device_authorization_endpoint,
                        d.token_endpoint,
                        d.revocation_endpoint,
                    ),
                    None => (None, None, None),
                };
                let pick = |found: Option<String>, default: &str| match found {
                    Some(found) => checked_url(&found, self.allow_insecure_http),
                    None => url(default),
                };
                Ok(Endpoints {
                    device_authorization: pick(device, "/oauth/v2/device_authorization")?,
                    token: pick(token, "/oauth/v2/token")?,
                    revocation: pick(revocation, "/oauth/v2/revoke")?,
                })
            })
            .await
    }

    async fn poll(&self, device_code: &Secret) -> Result<Tokens, SignInError> {
        let endpoints = self.endpoints().await?;
        let answer: TokenAnswer = self
            .http
            .post_form(
                &endpoints.token,
                &[
                    ("grant_type", DEVICE_CODE_GRANT),
                    ("device_code", device_code.expose()),
                    ("client_id", self.client_id.as_str()),
                ],
            )
            .await?;
        tokens_from(answer)
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens, SignInError> {
        let endpoints = self.endpoints().await?;
        let answer: TokenAnswer = self
            .http
            .post_form(
                &endpoints.token,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                    ("client_id", self.client_id.as_str()),
                ],
            )
            .await?;
        let tokens = tokens_from(answer)?.keep_refresh_token(Some(refresh_token));
        tracing::debug!("tokens refreshed");
        Ok(tokens)
    }
}

/// A started sign-in, waiting for the person to allow it.
pub struct PendingSignIn {
    flow: Arc<Flow>,
    device_code: Secret,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: Duration,
    interval: Duration,
    deadline: Instant,
}

impl PendingSignIn {
    fn from_answer(
        flow: Arc<Flow>,
        answer: DeviceAnswer,
        started: Instant,
    ) -> Result<PendingSignIn, SignInError> {
        let malformed = |what: &str| {
            SignInError::new(
                SignInErrorKind::Malformed,
                format!("the device authorization answer has {what}"),
            )
        };
        if answer.device_code.is_empty() {
            return Err(malformed("an empty device_code"));
        }
        // The user code is shown on a terminal: short, printable.
        if answer.user_code.is_empty()
            || answer.user_code.len() > 64
            || answer
                .user_code
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(malformed("a user_code that cannot be shown"));
        }
        let verification_uri = shown_url(&answer.verification_uri)
            .ok_or_else(|| malformed("a verification_uri that is not an http(s) URL"))?;
        let verification_uri_complete = match answer.verification_uri_complete {
            Some(uri) => Some(shown_url(&uri).ok_or_else(|| {
                malformed("a verification_uri_complete that is not an http(s) URL")
            })?),
            None => None,
        };
        if answer.expires_in == 0 {
            return Err(malformed("expires_in 0"));
        }
        let expires_in = Duration::from_secs(answer.expires_in).min(MAX_EXPIRY);
        let interval = answer
            .interval
            .map_or(DEFAULT_INTERVAL, Duration::from_secs)
            .clamp(MIN_INTERVAL, MAX_INTERVAL);
        Ok(PendingSignIn {
            flow,
            device_code: Secret::new(answer.device_code),
            user_code: answer.user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
            interval,
            deadline: started + expires_in,
        })
    }

    /// The code the person enters (e.g. `GQWC-FWFK`).
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the person enters it (ZITADEL's `<issuer>/device`).
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The same page with the code filled in, for a QR code or a link, if the server gave one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// How long the code is valid from the start (at most 30 minutes, whatever the server says).
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// How long [`wait`](Self::wait) waits between polls at first (1 to 60 seconds).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Polls the token endpoint until the person allowed or denied the sign-in or the code
    /// expired: every [`interval`](Self::interval), 5 seconds more after each `slow_down`,
    /// backing off after a network failure (the third in a row ends it). Cancel-safe: drop
    /// the future to stop waiting.
    pub async fn wait(&self) -> Result<Tokens, SignInError> {
        let mut interval = self.interval;
        let mut failures = 0;
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(expired());
            }
            tokio::time::sleep(interval.min(self.deadline - now)).await;
            if Instant::now() >= self.deadline {
                return Err(expired());
            }
            match self.flow.poll(&self.device_code).await {
                Ok(tokens) => {
                    tracing::debug!("device authorization allowed");
                    return Ok(tokens);
                }
                Err(e) => match (e.oauth_error(), e.kind()) {
                    (Some("authorization_pending"), _) => failures = 0,
                    (Some("slow_down"), _) => {
                        failures = 0;
                        interval = (interval + SLOW_DOWN_STEP).min(MAX_INTERVAL);
                        tracing::debug!(interval_s = interval.as_secs(), "slow_down");
                    }
                    (None, SignInErrorKind::Unreachable | SignInErrorKind::Timeout)
                        if failures + 1 < MAX_POLL_FAILURES =>
                    {
                        // RFC 8628 §3.5: poll less often after a network failure.
                        failures += 1;
                        interval = (interval * 2).min(MAX_INTERVAL);
                        tracing::debug!(error = %e, "polling failed; backing off");
                    }
                    _ => return Err(e),
                },
            }
        }
    }
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("device_code", &self.device_code)
            .field("user_code", &"***")
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

fn expired() -> SignInError {
    SignInError::new(
        SignInErrorKind::Expired,
        "the code expired before the sign-in was allowed",
    )
}

/// A URL from settings or discovery, under the same rule as the client's endpoint.
fn checked_url(url: &str, allow_insecure_http: bool) -> Result<url::Url, SignInError> {
    crate::transport::parse_endpoint(url, allow_insecure_http).map_err(|e| {
        let kind = if e.kind() == crate::ErrorKind::Insecure {
            SignInErrorKind::Insecure
        } else {
            SignInErrorKind::Config
        };
        SignInError::new(kind, e.message())
    })
}

/// A URL to show the person: http(s) only (a `javascript:` or `file:` URL from a hostile
/// server must not reach a QR code or a browser).
fn shown_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some())
        .then(|| parsed.to_string())
}

fn tokens_from(answer: TokenAnswer) -> Result<Tokens, SignInError> {
    if answer.access_token.is_empty() {
        return Err(SignInError::new(
            SignInErrorKind::Malformed,
            "the token answer has an empty access_token",
        ));
    }
    if !answer.token_type.eq_ignore_ascii_case("bearer") {
        return Err(SignInError::new(
            SignInErrorKind::Malformed,
            "the token answer's token_type is not Bearer",
        ));
    }
    // Capped so that a hostile number cannot overflow the clock.
    let expires_at = answer
        .expires_in
        .map(|s| SystemTime::now() + Duration::from_secs(s.min(366 * 24 * 3600)));
    Ok(Tokens::new(
        Secret::new(answer.access_token),
        answer
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        expires_at,
        answer.scope,
    ))
}
