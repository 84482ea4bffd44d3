//! [`Client`]: credentials, deadlines, retries and friendly results over any [`Stub`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use crate::credentials::{Credentials, Secret, TokenProvider};
use crate::error::{Code, Error, ErrorKind};
use crate::link::{Passkey, PasskeyLink, check_details};
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, ListMyPasswordlessRequest, RemoveMyPasswordlessRequest,
    SendMyPasswordlessLinkRequest,
};
use crate::proto::zitadel::v1::ObjectDetails;
use crate::retry::RetryPolicy;
use crate::stub::{BoxFuture, CallMetadata, Stub};
use crate::transport::{self, Transport};

/// The default deadline of a call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time allowed to open a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of ZITADEL's passkey-link API over one transport.
///
/// Cheap to clone (an `Arc` inside); clones share one connection (HTTP/2) or keep-alive pool
/// (HTTP/1.1), so build one and share it across tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), zitadel_passkey::Error> {
/// use zitadel_passkey::{Client, Transport};
///
/// let client = Client::builder("https://my-instance.zitadel.cloud")
///     .transport(Transport::Grpc)
///     .token(std::env::var("ZITADEL_TOKEN").unwrap_or_default())
///     .build()?;
/// let link = client.add_passkey_link().await?;
/// println!("send this to the user: {}", link.url());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    stub: Arc<dyn Stub>,
    credentials: Credentials,
    org_id: Option<String>,
    accept_language: Option<String>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.inner.credentials {
            Credentials::None => "none",
            Credentials::Static(_) => "static token (***)",
            Credentials::Provider(_) => "token provider",
        };
        f.debug_struct("Client")
            .field("stub", &self.inner.stub)
            .field("credentials", &credentials)
            .field("org_id", &self.inner.org_id)
            .field("accept_language", &self.inner.accept_language)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Options for one call, overriding the client's defaults.
///
/// ```
/// use std::time::Duration;
/// use zitadel_passkey::CallOptions;
/// let options = CallOptions::new().timeout(Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    timeout: Option<Duration>,
    org_id: Option<String>,
    accept_language: Option<String>,
    retry: Option<RetryPolicy>,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> CallOptions {
        CallOptions::default()
    }

    /// The deadline of this call (all attempts together).
    pub fn timeout(mut self, timeout: Duration) -> CallOptions {
        self.timeout = Some(timeout);
        self
    }

    /// `x-zitadel-orgid` for this call.
    pub fn org_id(mut self, id: impl Into<String>) -> CallOptions {
        self.org_id = Some(id.into());
        self
    }

    /// `accept-language` for this call.
    pub fn accept_language(mut self, language: impl Into<String>) -> CallOptions {
        self.accept_language = Some(language.into());
        self
    }

    /// The retry policy of this call.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> CallOptions {
        self.retry = Some(policy);
        self
    }
}

/// Builds a [`Client`]; start with [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use zitadel_passkey::{Client, RetryPolicy, Transport};
///
/// let client = Client::builder("https://my-instance.zitadel.cloud")
///     .transport(Transport::Json)
///     .token("a personal access token")
///     .org_id("165947650742997249")
///     .accept_language("de")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(3))
///     .retry_policy(RetryPolicy::default().with_max_attempts(2))
///     .build()?;
/// assert_eq!(client.transport(), Transport::Json);
///
/// // Plain http:// only to loopback hosts, unless explicitly allowed.
/// assert!(Client::builder("http://zitadel.internal").build().is_err());
/// # Ok::<(), zitadel_passkey::Error>(())
/// ```
pub struct ClientBuilder {
    endpoint: String,
    transport: Transport,
    credentials: Credentials,
    org_id: Option<String>,
    accept_language: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    allow_insecure_http: bool,
    retry: RetryPolicy,
    roots: Vec<Vec<u8>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("transport", &self.transport)
            .field("org_id", &self.org_id)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The wire format (default: the first enabled of gRPC, gRPC-web, JSON).
    pub fn transport(mut self, transport: Transport) -> ClientBuilder {
        self.transport = transport;
        self
    }

    /// A static bearer token: a personal access token or the user's access token.
    pub fn token(mut self, token: impl Into<String>) -> ClientBuilder {
        self.credentials = Credentials::Static(Secret::new(token.into()));
        self
    }

    /// An async token provider, asked before each call (and to refresh after
    /// `UNAUTHENTICATED`, once per call).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> ClientBuilder {
        self.credentials = Credentials::provider(provider);
        self
    }

    /// `x-zitadel-orgid` on every call (the organisation must exist).
    pub fn org_id(mut self, id: impl Into<String>) -> ClientBuilder {
        self.org_id = Some(id.into());
        self
    }

    /// `accept-language` on every call (the language of error messages).
    pub fn accept_language(mut self, language: impl Into<String>) -> ClientBuilder {
        self.accept_language = Some(language.into());
        self
    }

    /// The default deadline of a call, all attempts together (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// No default deadline (calls can still set one with [`CallOptions::timeout`]).
    pub fn no_timeout(mut self) -> ClientBuilder {
        self.timeout = None;
        self
    }

    /// The time allowed to open a connection, TCP and TLS (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Allow `http://` to hosts that are not loopback (default: refused, tokens would travel
    /// in the clear).
    pub fn allow_insecure_http(mut self, allow: bool) -> ClientBuilder {
        self.allow_insecure_http = allow;
        self
    }

    /// How to retry calls that provably never reached the server.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry = policy;
        self
    }

    /// Also trust this root certificate (DER), e.g. a private CA.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> ClientBuilder {
        self.roots.push(der.into());
        self
    }

    /// Builds the client. Connections are opened lazily, on the first call.
    ///
    /// Fails if the endpoint is not a valid `https://` URL (or `http://` to a loopback host),
    /// or if the transport is not compiled in.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint = transport::parse_endpoint(&self.endpoint, self.allow_insecure_http)?;
        let mut roots = transport::root_store()?;
        for der in self.roots {
            roots
                .add(rustls::pki_types::CertificateDer::from(der))
                .map_err(|e| Error::config(format!("invalid root certificate: {e}")))?;
        }
        let settings = transport::Settings {
            endpoint,
            connect_timeout: self.connect_timeout,
            tls: transport::tls_config(roots)?,
        };
        let stub: Arc<dyn Stub> = match self.transport {
            #[cfg(feature = "grpc")]
            Transport::Grpc => Arc::new(transport::grpc::GrpcStub::new(&settings, false)?),
            #[cfg(feature = "grpc-web")]
            Transport::GrpcWeb => Arc::new(transport::grpc::GrpcStub::new(&settings, true)?),
            #[cfg(feature = "json")]
            Transport::Json => Arc::new(transport::json::JsonStub::new(&settings)?),
            #[allow(unreachable_patterns)]
            other => {
                let _ = settings;
                return Err(Error::config(format!(
                    "the {other} transport is not compiled in (enable the Cargo feature {other:?})"
                )));
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                stub,
                credentials: self.credentials,
                org_id: self.org_id,
                accept_language: self.accept_language,
                timeout: self.timeout,
                retry: self.retry,
            }),
        })
    }
}

/// One attempt of a call on a stub.
type Attempt<Req, Resp> =
    for<'a> fn(&'a dyn Stub, Req, CallMetadata) -> BoxFuture<'a, Result<Resp, Error>>;

impl Client {
    /// Starts building a client for the instance at `endpoint`, e.g.
    /// `https://my-instance.zitadel.cloud`.
    pub fn builder(endpoint: impl AsRef<str>) -> ClientBuilder {
        let transport = Transport::ALL
            .into_iter()
            .find(|t| t.is_enabled())
            .unwrap_or(Transport::Json);
        ClientBuilder {
            endpoint: endpoint.as_ref().to_owned(),
            transport,
            credentials: Credentials::None,
            org_id: None,
            accept_language: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            allow_insecure_http: false,
            retry: RetryPolicy::default(),
            roots: Vec::new(),
        }
    }

    /// A client over any [`Stub`], e.g. a fake in an app's tests. It has no token, the default
    /// timeout and retry policy.
    pub fn from_stub(stub: impl Stub + 'static) -> Client {
        Client::from_stub_with(stub, Client::builder("http://localhost"))
    }

    /// A client over any [`Stub`], taking credentials, headers, timeout and retry policy from
    /// `builder` (its endpoint and transport are ignored).
    pub fn from_stub_with(stub: impl Stub + 'static, builder: ClientBuilder) -> Client {
        Client {
            inner: Arc::new(Inner {
                stub: Arc::new(stub),
                credentials: builder.credentials,
                org_id: builder.org_id,
                accept_language: builder.accept_language,
                timeout: builder.timeout,
                retry: builder.retry,
            }),
        }
    }

    /// The transport this client speaks.
    pub fn transport(&self) -> Transport {
        self.inner.stub.transport()
    }

    /// Creates a one-time passkey registration link for the token's user
    /// (`AddMyPasswordlessLink`). Not idempotent: never retried once the request may have
    /// reached the server.
    ///
    /// ```no_run
    /// # async fn run(client: zitadel_passkey::Client) -> Result<(), zitadel_passkey::Error> {
    /// let link = client.add_passkey_link().await?;
    /// println!("{link} expires in {:?}", link.expires_in()); // the code shows as ***
    /// # Ok(()) }
    /// ```
    pub async fn add_passkey_link(&self) -> Result<PasskeyLink, Error> {
        self.add_passkey_link_with(CallOptions::default()).await
    }

    /// [`add_passkey_link`](Self::add_passkey_link) with per-call options.
    ///
    /// ```no_run
    /// # async fn run(client: zitadel_passkey::Client) -> Result<(), zitadel_passkey::Error> {
    /// use std::time::Duration;
    /// use zitadel_passkey::CallOptions;
    /// let link = client
    ///     .add_passkey_link_with(CallOptions::new().timeout(Duration::from_secs(3)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_passkey_link_with(&self, options: CallOptions) -> Result<PasskeyLink, Error> {
        let response = self
            .call(
                "AddMyPasswordlessLink",
                options,
                AddMyPasswordlessLinkRequest {},
                |stub, request, metadata| stub.add_my_passwordless_link(request, metadata),
            )
            .await?;
        PasskeyLink::try_from(response).map_err(|e| e.with_transport(self.transport()))
    }

    /// E-mails a new passkey link to the token's user (`SendMyPasswordlessLink`).
    pub async fn send_passkey_link(&self) -> Result<ObjectDetails, Error> {
        self.send_passkey_link_with(CallOptions::default()).await
    }

    /// [`send_passkey_link`](Self::send_passkey_link) with per-call options.
    pub async fn send_passkey_link_with(
        &self,
        options: CallOptions,
    ) -> Result<ObjectDetails, Error> {
        let response = self
            .call(
                "SendMyPasswordlessLink",
                options,
                SendMyPasswordlessLinkRequest {},
                |stub, request, metadata| stub.send_my_passwordless_link(request, metadata),
            )
            .await?;
        self.details(response.details)
    }

    /// The token's user's registered passkeys (`ListMyPasswordless`).
    pub async fn list_passkeys(&self) -> Result<Vec<Passkey>, Error> {
        self.list_passkeys_with(CallOptions::default()).await
    }

    /// [`list_passkeys`](Self::list_passkeys) with per-call options.
    pub async fn list_passkeys_with(&self, options: CallOptions) -> Result<Vec<Passkey>, Error> {
        let response = self
            .call(
                "ListMyPasswordless",
                options,
                ListMyPasswordlessRequest {},
                |stub, request, metadata| stub.list_my_passwordless(request, metadata),
            )
            .await?;
        Ok(response.result.into_iter().map(Passkey::from).collect())
    }

    /// Removes one of the token's user's passkeys by its ID (`RemoveMyPasswordless`).
    pub async fn remove_passkey(&self, id: &str) -> Result<ObjectDetails, Error> {
        self.remove_passkey_with(id, CallOptions::default()).await
    }

    /// [`remove_passkey`](Self::remove_passkey) with per-call options.
    pub async fn remove_passkey_with(
        &self,
        id: &str,
        options: CallOptions,
    ) -> Result<ObjectDetails, Error> {
        // Checked here so every transport answers alike: over REST an empty ID would turn the
        // path into `.../passwordless/`, which no route matches.
        if id.trim().is_empty() {
            return Err(
                Error::config("the passkey ID to remove is empty").with_transport(self.transport())
            );
        }
        let response = self
            .call(
                "RemoveMyPasswordless",
                options,
                RemoveMyPasswordlessRequest {
                    token_id: id.to_owned(),
                },
                |stub, request, metadata| stub.remove_my_passwordless(request, metadata),
            )
            .await?;
        self.details(response.details)
    }

    fn details(&self, details: Option<ObjectDetails>) -> Result<ObjectDetails, Error> {
        let details = details.unwrap_or_default();
        check_details(&details).map_err(|e| e.with_transport(self.transport()))?;
        Ok(details)
    }

    /// Runs a call: token, deadline, attempts, retries.
    async fn call<Req: Clone, Resp>(
        &self,
        method: &'static str,
        options: CallOptions,
        request: Req,
        attempt: Attempt<Req, Resp>,
    ) -> Result<Resp, Error> {
        let transport = self.transport();
        let span = tracing::info_span!("zitadel_passkey.call", method, %transport, outcome = tracing::field::Empty);
        let result = self
            .run(method, options, request, attempt)
            .instrument(span.clone())
            .await
            .map_err(|e| e.with_transport(transport));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        };
        span.record("outcome", outcome);
        result
    }

    async fn run<Req: Clone, Resp>(
        &self,
        method: &'static str,
        options: CallOptions,
        request: Req,
        attempt: Attempt<Req, Resp>,
    ) -> Result<Resp, Error> {
        let inner = &*self.inner;
        let timeout = options.timeout.or(inner.timeout);
        // A deadline past what the clock can represent (say `Duration::MAX`) is no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let retry = options.retry.as_ref().unwrap_or(&inner.retry);
        let org_id = options.org_id.or_else(|| inner.org_id.clone());
        let accept_language = options
            .accept_language
            .or_else(|| inner.accept_language.clone());

        let mut token = within(deadline, inner.credentials.token()).await??;
        let mut refreshed = false;
        let mut number = 1u32;
        loop {
            let remaining = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(deadline_error(false));
                    }
                    Some(left)
                }
                None => None,
            };
            let metadata = CallMetadata {
                token: token.clone(),
                org_id: org_id.clone(),
                accept_language: accept_language.clone(),
                timeout: remaining,
            };
            let span = tracing::debug_span!("attempt", number, outcome = tracing::field::Empty);
            let result = match within(deadline, attempt(&*inner.stub, request.clone(), metadata))
                .instrument(span.clone())
                .await
            {
                Ok(result) => result,
                Err(_) => Err(deadline_error(true)),
            };
            let error = match result {
                Ok(response) => {
                    span.record("outcome", "ok");
                    return Ok(response);
                }
                Err(error) => match &token {
                    Some(token) => error.redact(token.expose()),
                    None => error,
                },
            };
            span.record("outcome", error.code().as_str());
            tracing::debug!(parent: &span, method, error = %error, not_sent = error.is_not_sent(), "attempt failed");

            if error.code() == Code::Unauthenticated
                && error.kind() == ErrorKind::Rejected
                && !refreshed
                && inner.credentials.can_refresh()
            {
                // The server rejected the token before doing anything: safe to try once more.
                refreshed = true;
                token = within(deadline, inner.credentials.refresh(token.as_ref())).await??;
                continue;
            }
            if error.kind() != ErrorKind::NotSent || number >= retry.max_attempts() {
                return Err(error);
            }
            let backoff = retry.backoff(number);
            if let Some(deadline) = deadline
                && Instant::now()
                    .checked_add(backoff)
                    .is_none_or(|resume| resume >= deadline)
            {
                return Err(error);
            }
            tracing::debug!(
                method,
                ?backoff,
                "retrying: the request never reached the server"
            );
            retry.sleep(backoff).await;
            number += 1;
        }
    }
}

/// Runs `future` until the deadline, if there is one.
async fn within<T>(
    deadline: Option<Instant>,
    future: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| deadline_error(false)),
        None => Ok(future.await),
    }
}

fn deadline_error(maybe_sent: bool) -> Error {
    let message = if maybe_sent {
        "the deadline passed before the response arrived"
    } else {
        "the deadline passed before the request was sent"
    };
    let error = Error::with_kind(ErrorKind::Timeout, Code::DeadlineExceeded, message);
    if maybe_sent {
        error
    } else {
        error.deadline_before_sending()
    }
}
