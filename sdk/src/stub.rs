//! The seam between [`Client`](crate::Client) and a transport: one attempt of one call.
//!
//! The client does credentials, deadlines, retries and the friendly result types; a [`Stub`]
//! only moves one request and its response over the wire. Each built-in transport is a `Stub`,
//! and an app's tests can put a fake behind the client with
//! [`Client::from_stub`](crate::Client::from_stub).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::credentials::Secret;
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};
use crate::{Code, Error, Transport};

/// A boxed, sendable future (what [`Stub`], [`TokenProvider`](crate::TokenProvider) and
/// [`Sleep`](crate::Sleep) return, so they can be used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What goes along with a request: the token, headers and the time left.
#[non_exhaustive]
#[derive(Clone, Default)]
pub struct CallMetadata {
    /// The bearer token, if any.
    pub token: Option<Secret>,
    /// `x-zitadel-orgid`.
    pub org_id: Option<String>,
    /// `accept-language`.
    pub accept_language: Option<String>,
    /// The time left until the deadline (sent as `grpc-timeout`).
    pub timeout: Option<Duration>,
}

impl CallMetadata {
    /// Metadata with the token only (for tests of stubs).
    pub fn with_token(token: impl Into<Secret>) -> CallMetadata {
        CallMetadata {
            token: Some(token.into()),
            ..CallMetadata::default()
        }
    }

    /// `Bearer <token>`, if there is a token. Surrounding whitespace (say, the newline of a
    /// token read from a file) is dropped, and an empty token counts as none: HTTP/1.1 servers
    /// trim a header's trailing space and HTTP/2 ones do not, so `Bearer ` would give different
    /// errors on different transports.
    pub(crate) fn authorization(&self) -> Option<String> {
        let token = self.token.as_ref()?.expose().trim_ascii();
        (!token.is_empty()).then(|| format!("Bearer {token}"))
    }
}

impl fmt::Debug for CallMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallMetadata")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("org_id", &self.org_id)
            .field("accept_language", &self.accept_language)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One attempt of each `AuthService` call, over some transport.
///
/// An implementation reports failures as [`Error`]s: a status the server sent with
/// [`Error::new`], a request that never left with [`Error::not_sent`] (the client may retry it)
/// and a broken exchange with [`Error::outcome_unknown`] (never retried). Every call has a
/// default that answers `UNIMPLEMENTED`, as a server without the method would, so a fake
/// implements only the calls its test makes.
///
/// ```
/// use zitadel_passkey::proto::zitadel::auth::v1::*;
/// use zitadel_passkey::{BoxFuture, CallMetadata, Client, Code, Error, Stub, Transport};
///
/// #[derive(Debug)]
/// struct AlwaysUnauthenticated;
///
/// impl Stub for AlwaysUnauthenticated {
///     fn transport(&self) -> Transport { Transport::Json }
///     fn add_my_passwordless_link(&self, _: AddMyPasswordlessLinkRequest, _: CallMetadata)
///         -> BoxFuture<'_, Result<AddMyPasswordlessLinkResponse, Error>> {
///         Box::pin(async { Err(Error::new(Code::Unauthenticated, "auth header missing")) })
///     }
/// }
///
/// # tokio_test_block_on(async {
/// let client = Client::from_stub(AlwaysUnauthenticated);
/// let error = client.add_passkey_link().await.unwrap_err();
/// assert_eq!(error.code(), Code::Unauthenticated);
/// let error = client.list_passkeys().await.unwrap_err();
/// assert_eq!(error.code(), Code::Unimplemented);
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub trait Stub: Send + Sync + fmt::Debug {
    /// The transport this stub speaks (a fake names the one it stands in for).
    fn transport(&self) -> Transport;

    /// `AddMyPasswordlessLink`: a new one-time passkey registration link. Not idempotent.
    fn add_my_passwordless_link(
        &self,
        request: AddMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<AddMyPasswordlessLinkResponse, Error>> {
        let _ = (request, metadata);
        unimplemented_call("AddMyPasswordlessLink")
    }

    /// `SendMyPasswordlessLink`: e-mail a new link to the user.
    fn send_my_passwordless_link(
        &self,
        request: SendMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        let _ = (request, metadata);
        unimplemented_call("SendMyPasswordlessLink")
    }

    /// `ListMyPasswordless`: the user's registered passkeys.
    fn list_my_passwordless(
        &self,
        request: ListMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        let _ = (request, metadata);
        unimplemented_call("ListMyPasswordless")
    }

    /// `RemoveMyPasswordless`: remove one passkey.
    fn remove_my_passwordless(
        &self,
        request: RemoveMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        let _ = (request, metadata);
        unimplemented_call("RemoveMyPasswordless")
    }
}

/// What a stub answers for a call it does not implement.
fn unimplemented_call<T: Send + 'static>(
    method: &'static str,
) -> BoxFuture<'static, Result<T, Error>> {
    Box::pin(async move {
        Err(Error::new(
            Code::Unimplemented,
            format!("{method} is not implemented by this stub"),
        ))
    })
}
