//! The flow's HTTP: form `POST`s and the discovery `GET` over the SDK's one hyper client (the
//! stack every transport uses, so no second HTTP stack), answers read within a size cap and
//! sorted into a value, an OAuth error, or a [`SignInError`] of the right kind.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{SignInError, SignInErrorKind};
use crate::transport::http_stack::{self, ConnectTimedOut, Http, Protocol, ReadError};
use crate::transport::status::chain;

/// More than any OAuth answer needs; a bigger one is refused unread.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The HTTP client of one flow. Redirects are not followed (hyper follows none): a redirect
/// would carry the form (device code, refresh token) to another URL.
#[derive(Debug, Clone)]
pub(super) struct OAuthHttp {
    client: Http,
    /// The bound on each exchange, connecting and the whole answer included.
    timeout: Duration,
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthHttp {
    pub(super) fn new(tls: &rustls::ClientConfig, timeout: Duration) -> OAuthHttp {
        OAuthHttp {
            client: http_stack::http_client(tls, timeout, Protocol::Http1),
            timeout,
        }
    }

    /// `POST` a form and read the JSON answer.
    pub(super) async fn post_form<T: DeserializeOwned>(
        &self,
        url: &url::Url,
        form: &[(&str, &str)],
    ) -> Result<T, SignInError> {
        let (status, body) = self.post(url, form).await?;
        parse(url, status, &body)
    }

    /// `POST` a form whose success has no body that matters (revocation).
    pub(super) async fn post_form_no_answer(
        &self,
        url: &url::Url,
        form: &[(&str, &str)],
    ) -> Result<(), SignInError> {
        let (status, body) = self.post(url, form).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(error_answer(url, status, &body))
    }

    /// `GET` a JSON document; `None` when the server has none there (404).
    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &url::Url,
    ) -> Result<Option<T>, SignInError> {
        let (status, body) = self.send(url, http::Method::GET, None).await?;
        if status == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        parse(url, status, &body).map(Some)
    }

    async fn post(
        &self,
        url: &url::Url,
        form: &[(&str, &str)],
    ) -> Result<(http::StatusCode, Vec<u8>), SignInError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(url, http::Method::POST, Some(body.into())).await
    }

    /// One exchange within the flow's timeout: the request, the status and the whole body.
    async fn send(
        &self,
        url: &url::Url,
        method: http::Method,
        form: Option<Bytes>,
    ) -> Result<(http::StatusCode, Vec<u8>), SignInError> {
        let uri = http::Uri::try_from(url.as_str()).map_err(|e| {
            SignInError::new(
                SignInErrorKind::Config,
                format!("{} is not a URL to send to: {e}", path(url)),
            )
        })?;
        let form = form.map(|form| (form, "application/x-www-form-urlencoded"));
        let request = http_stack::json_request(method, uri, form, http::HeaderMap::new());
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport_error(url, e.into()))?;
            let (head, body) = response.into_parts();
            let body = http_stack::read_capped(body, MAX_ANSWER_BYTES)
                .await
                .map_err(|e| match e {
                    ReadError::TooBig => too_big(url),
                    ReadError::Failed(e) => transport_error(url, e.into()),
                })?;
            Ok((head.status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(timed_out(url)))
    }
}

fn parse<T: DeserializeOwned>(
    url: &url::Url,
    status: http::StatusCode,
    body: &[u8],
) -> Result<T, SignInError> {
    if !status.is_success() {
        return Err(error_answer(url, status, body));
    }
    serde_json::from_slice(body).map_err(|e| {
        SignInError::new(
            SignInErrorKind::Malformed,
            format!(
                "{} answered HTTP {status} with JSON that does not fit: {e}",
                path(url)
            ),
        )
    })
}

/// An OAuth error if the body is one, else a malformed answer naming the HTTP status.
fn error_answer(url: &url::Url, status: http::StatusCode, body: &[u8]) -> SignInError {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(answer) if !answer.error.is_empty() && answer.error.len() <= 64 => {
            SignInError::oauth(&answer.error, answer.error_description.as_deref())
        }
        _ => SignInError::new(
            SignInErrorKind::Malformed,
            format!(
                "{} answered HTTP {status} without an OAuth error",
                path(url)
            ),
        ),
    }
}

fn transport_error(url: &url::Url, e: crate::error::BoxError) -> SignInError {
    if is_in_chain::<ConnectTimedOut>(&*e) {
        return timed_out(url).with_source(e);
    }
    let message = format!("cannot reach {}: {}", path(url), chain(&*e));
    SignInError::new(SignInErrorKind::Unreachable, message).with_source(e)
}

/// Whether an error of type `E` is in the chain of `error`.
fn is_in_chain<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<E>() {
            return true;
        }
        current = error.source();
    }
    false
}

fn timed_out(url: &url::Url) -> SignInError {
    SignInError::new(
        SignInErrorKind::Timeout,
        format!("{} did not answer in time", path(url)),
    )
}

fn too_big(url: &url::Url) -> SignInError {
    SignInError::new(
        SignInErrorKind::Malformed,
        format!("{} answered more than {MAX_ANSWER_BYTES} bytes", path(url)),
    )
}

/// The URL without its query (discovery documents and endpoints have none, but a query is no
/// place for anything worth printing).
fn path(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}
