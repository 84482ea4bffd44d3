//! The flow's HTTP: form `POST`s and the discovery `GET` over reqwest (the client the REST
//! transport uses too, so no second HTTP stack), answers read within a size cap and sorted into
//! a value, an OAuth error, or a [`SignInError`] of the right kind.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{SignInError, SignInErrorKind};
use crate::transport::USER_AGENT;

/// More than any OAuth answer needs; a bigger one is refused unread.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The reqwest client of one flow.
#[derive(Debug, Clone)]
pub(super) struct OAuthHttp {
    client: reqwest::Client,
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
    pub(super) fn new(
        tls: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<OAuthHttp, SignInError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // A redirect would carry the form (device code, refresh token) to another URL.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .user_agent(USER_AGENT)
            .no_proxy()
            .build()
            .map_err(|e| {
                SignInError::new(
                    SignInErrorKind::Config,
                    format!("building the HTTP client failed: {e}"),
                )
            })?;
        Ok(OAuthHttp { client, timeout })
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
        let request = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.timeout);
        let (status, body) = send(url, request).await?;
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
        let request = self
            .client
            .post(url.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .timeout(self.timeout);
        send(url, request).await
    }
}

async fn send(
    url: &url::Url,
    request: reqwest::RequestBuilder,
) -> Result<(http::StatusCode, Vec<u8>), SignInError> {
    let mut response = request.send().await.map_err(|e| transport_error(url, e))?;
    let status = response.status();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_big(url));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, e))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_big(url));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
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

fn transport_error(url: &url::Url, e: reqwest::Error) -> SignInError {
    let kind = if e.is_timeout() {
        SignInErrorKind::Timeout
    } else {
        SignInErrorKind::Unreachable
    };
    let e = e.without_url();
    let message = if kind == SignInErrorKind::Timeout {
        format!("{} did not answer in time", path(url))
    } else {
        format!("cannot reach {}: {}", path(url), chain(&e))
    };
    SignInError::new(kind, message).with_source(e)
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

/// An error and its sources, `: `-separated (reqwest's own message is only the outermost).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
