//! REST/JSON through ZITADEL's gateway (reqwest over HTTP/1.1, paths from the HTTP rule table).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{MAX_RESPONSE_BYTES, Settings, USER_AGENT};
use crate::error::{Code, Error, Kind, from_rpc_status};
use crate::proto::http_rules::{HttpRule, auth_service};
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};
use crate::stub::{BoxFuture, CallMetadata, Stub};
use crate::transport::Transport;

/// The REST transport: one reqwest client (a keep-alive pool) shared by all calls.
#[derive(Debug, Clone)]
pub(crate) struct JsonStub {
    http: reqwest::Client,
    /// The endpoint without a trailing slash; rule paths start with `/`.
    base: String,
}

impl JsonStub {
    pub(crate) fn new(settings: &Settings) -> Result<JsonStub, Error> {
        let mut tls = (*settings.tls).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .user_agent(USER_AGENT)
            .http1_only()
            .no_proxy()
            .build()
            .map_err(|e| Error::config(format!("building the HTTP client failed: {e}")))?;
        Ok(JsonStub {
            http,
            base: settings.endpoint.as_str().trim_end_matches('/').to_owned(),
        })
    }

    async fn call<Req, Resp>(
        &self,
        rule: &HttpRule,
        path_params: &[(&str, &str)],
        request: &Req,
        metadata: CallMetadata,
    ) -> Result<Resp, Error>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let mut path = rule.path.to_owned();
        for (name, value) in path_params {
            let encoded = percent_encoding::utf8_percent_encode(value, SEGMENT).to_string();
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        let method = reqwest::Method::from_bytes(rule.verb.as_bytes())
            .map_err(|_| Error::config(format!("bad HTTP verb {}", rule.verb)))?;
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(http::header::ACCEPT, "application/json");
        if rule.body.is_some() {
            let body = serde_json::to_vec(request)
                .map_err(|e| Error::config(format!("encoding the request failed: {e}")))?;
            builder = builder
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        if let Some(authorization) = authorization(&metadata)? {
            builder = builder.header(http::header::AUTHORIZATION, authorization);
        }
        if let Some(org_id) = &metadata.org_id {
            builder = builder.header("x-zitadel-orgid", org_id);
        }
        if let Some(language) = &metadata.accept_language {
            builder = builder.header(http::header::ACCEPT_LANGUAGE, language);
        }
        let request = builder.build().map_err(|e| {
            Error::config(format!(
                "invalid request (check org ID, language, token): {}",
                e.without_url()
            ))
        })?;

        let response = self.http.execute(request).await.map_err(send_error)?;
        let status = response.status();
        let body = read_capped(response).await?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| decode_error(&e).with_http_status(status.as_u16()));
        }
        Err(status_error(status.as_u16(), &body))
    }
}

/// The `authorization` header, marked sensitive (hidden from `Debug`, never indexed by HPACK).
fn authorization(metadata: &CallMetadata) -> Result<Option<http::HeaderValue>, Error> {
    let Some(authorization) = metadata.authorization() else {
        return Ok(None);
    };
    let mut value = http::HeaderValue::try_from(authorization)
        .map_err(|_| Error::config("the token contains characters not allowed in a header"))?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// A response body that is not the expected message. serde's text for a wrong value quotes the
/// value (which may be a link with its one-time code), so only its position is given then.
fn decode_error(error: &serde_json::Error) -> Error {
    let what = match error.classify() {
        serde_json::error::Category::Data => format!(
            "a value of the wrong type or out of range at line {} column {}",
            error.line(),
            error.column()
        ),
        _ => error.to_string(),
    };
    Error::malformed(format!("the response is not the expected JSON: {what}"))
}

/// Characters to escape in one path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A failure to send or to receive the head of the response.
fn send_error(error: reqwest::Error) -> Error {
    let error = error.without_url();
    if error.is_connect() {
        // Connect covers DNS, TCP and TLS: no byte of the request left.
        return Error::with_kind(
            Kind::NotSent,
            Code::Unavailable,
            format!("could not connect: {}", chain(&error)),
        )
        .with_source(error);
    }
    if error.is_redirect() {
        return Error::with_kind(Kind::Malformed, Code::Internal, "unexpected redirect")
            .with_source(error);
    }
    Error::with_kind(
        Kind::OutcomeUnknown,
        Code::Unavailable,
        format!("the connection failed during the call: {}", chain(&error)),
    )
    .with_source(error)
}

/// An error and its sources on one line (no URLs: they were stripped).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads the body, failing as soon as it passes [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let status = response.status().as_u16();
    let too_big = || {
        Error::with_kind(
            Kind::Malformed,
            Code::ResourceExhausted,
            format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
        )
        .with_http_status(status)
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let e = e.without_url();
                return Err(Error::with_kind(
                    Kind::OutcomeUnknown,
                    Code::Unavailable,
                    format!("reading the response failed: {}", chain(&e)),
                )
                .with_http_status(status)
                .with_source(e));
            }
        }
    }
}

/// An error answer: a `google.rpc.Status` in JSON, or something a proxy made up.
fn status_error(http_status: u16, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct RpcStatus {
        code: Option<i32>,
        #[serde(default)]
        message: String,
        #[serde(default)]
        details: Vec<serde_json::Value>,
    }
    // ZITADEL's gateway sends each code with the HTTP status of its table, and never OK as an
    // error. A 5xx (or 408) whose body names another code came from something in between (that
    // may have forwarded the request), so it is read as a proxy's answer below: above all, a
    // body saying UNAUTHENTICATED must not pass for a rejection, which would be sent again.
    let from_zitadel = |code: i32| {
        code != 0
            && (Code::from_i32(code).http_status() == http_status
                || !(http_status >= 500 || http_status == 408))
    };
    if let Ok(RpcStatus {
        code: Some(code),
        message,
        details,
    }) = serde_json::from_slice::<RpcStatus>(body)
        && from_zitadel(code)
    {
        let detail = details.iter().find_map(|any| {
            let type_url = any.get("@type")?.as_str()?;
            if type_url.rsplit('/').next() != Some("zitadel.v1.ErrorDetail") {
                return None;
            }
            let field = |name: &str| {
                any.get(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            Some((field("id"), field("message")))
        });
        return from_rpc_status(code, &message, detail).with_http_status(http_status);
    }
    // No (consistent) gRPC status: an answer from a proxy or load balancer in front of ZITADEL.
    // After a 5xx the request may have been forwarded and carried out; a 4xx was refused on the
    // way.
    let code = Code::from_http_status(http_status);
    let kind = if http_status >= 500 || http_status == 408 {
        Kind::OutcomeUnknown
    } else {
        Kind::Status
    };
    let code = if code == Code::Unknown && http_status >= 500 {
        Code::Unavailable
    } else {
        code
    };
    Error::with_kind(
        kind,
        code,
        format!("HTTP {http_status}, not an answer of ZITADEL's gateway (from a proxy?)"),
    )
    .with_http_status(http_status)
}

impl Stub for JsonStub {
    fn transport(&self) -> Transport {
        Transport::Json
    }

    fn add_my_passwordless_link(
        &self,
        request: AddMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<AddMyPasswordlessLinkResponse, Error>> {
        Box::pin(async move {
            self.call(
                &auth_service::ADD_MY_PASSWORDLESS_LINK,
                &[],
                &request,
                metadata,
            )
            .await
        })
    }

    fn send_my_passwordless_link(
        &self,
        request: SendMyPasswordlessLinkRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<SendMyPasswordlessLinkResponse, Error>> {
        Box::pin(async move {
            self.call(
                &auth_service::SEND_MY_PASSWORDLESS_LINK,
                &[],
                &request,
                metadata,
            )
            .await
        })
    }

    fn list_my_passwordless(
        &self,
        request: ListMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<ListMyPasswordlessResponse, Error>> {
        Box::pin(async move {
            self.call(&auth_service::LIST_MY_PASSWORDLESS, &[], &request, metadata)
                .await
        })
    }

    fn remove_my_passwordless(
        &self,
        request: RemoveMyPasswordlessRequest,
        metadata: CallMetadata,
    ) -> BoxFuture<'_, Result<RemoveMyPasswordlessResponse, Error>> {
        Box::pin(async move {
            let token_id = request.token_id.clone();
            self.call(
                &auth_service::REMOVE_MY_PASSWORDLESS,
                &[("token_id", &token_id)],
                &request,
                metadata,
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_is_sensitive() {
        let value = authorization(&CallMetadata::with_token("s3cr3t"))
            .unwrap()
            .unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("s3cr3t"));
        assert!(authorization(&CallMetadata::with_token("bad\ntoken")).is_err());
        assert!(matches!(authorization(&CallMetadata::default()), Ok(None)));
    }
}
