//! [`Client`]: credentials, deadlines, retries and friendly results over any [`Stub`].
//!
//! `builder.rs` makes a client, `options.rs` holds the per-call overrides, `run.rs` runs one
//! call (attempts, retries, refresh); this file has the client and its public calls.

mod builder;
mod options;
mod run;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::credentials::Credentials;
use crate::error::Error;
use crate::link::{Passkey, PasskeyLink, check_details};
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, ListMyPasswordlessRequest, RemoveMyPasswordlessRequest,
    SendMyPasswordlessLinkRequest,
};
use crate::proto::zitadel::v1::ObjectDetails;
use crate::retry::RetryPolicy;
use crate::stub::Stub;
use crate::transport::Transport;

pub use builder::ClientBuilder;
pub use options::CallOptions;

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

impl Client {
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
}
