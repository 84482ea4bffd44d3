//! [`ClientBuilder`]: a client's settings, checked and turned into a transport when built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Client, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Inner};
use crate::credentials::{Credentials, Secret, TokenProvider};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::stub::Stub;
use crate::transport::{self, Transport};

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
    pub(super) endpoint: String,
    pub(super) transport: Transport,
    pub(super) credentials: Credentials,
    pub(super) org_id: Option<String>,
    pub(super) accept_language: Option<String>,
    pub(super) timeout: Option<Duration>,
    pub(super) connect_timeout: Duration,
    pub(super) allow_insecure_http: bool,
    pub(super) retry: RetryPolicy,
    pub(super) roots: Vec<Vec<u8>>,
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
    ///
    /// Independently of it, gRPC connections send an HTTP/2 PING while a call is open once they
    /// have read nothing from the server for 30 s, and are closed if 10 s pass without an answer:
    /// a call on a connection whose peer vanished then fails as
    /// [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown), and the next call
    /// connects anew.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// No default deadline (calls can still set one with [`CallOptions::timeout`](crate::CallOptions::timeout)).
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
        let settings = transport::Settings {
            endpoint,
            connect_timeout: self.connect_timeout,
            tls: transport::tls_config(self.roots)?,
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
}
