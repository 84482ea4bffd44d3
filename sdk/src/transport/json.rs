//! REST/JSON through ZITADEL's gateway (reqwest over HTTP/1.1, paths from the HTTP rule table).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::status::{self, Reached, RpcStatus, Wire};
use super::{MAX_RESPONSE_BYTES, Settings, USER_AGENT};
use crate::error::Error;
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
        let http_status = response.status().as_u16();
        if !status::zitadel_sends(Wire::Rest, http_status, None) {
            let body = read_capped(response).await?;
            return Err(status::answer(Wire::Rest, http_status, rpc_status(&body)));
        }
        // A success that is not the gateway's JSON is refused on its head, before its body is
        // read, as the gRPC transports refuse a wrong content type.
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .unwrap_or_default();
        if !is_json(&content_type) {
            return Err(status::unexpected_content_type(&content_type));
        }
        decode(&read_capped(response).await?)
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

/// Whether a content type is JSON, as the gateway sends it (`application/json`, maybe with
/// parameters).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The message of a success. serde's text for a wrong value quotes the value (which may be a
/// link with its one-time code), so only its position is kept then.
fn decode<Resp: DeserializeOwned>(body: &[u8]) -> Result<Resp, Error> {
    if body.trim_ascii().is_empty() {
        return Err(status::missing_message());
    }
    serde_json::from_slice(body).map_err(|error| {
        let position = format!("at line {} column {}", error.line(), error.column());
        match error.classify() {
            serde_json::error::Category::Eof => status::truncated(position),
            serde_json::error::Category::Data => status::undecodable(format!(
                "a value of the wrong type or out of range {position}"
            )),
            _ => status::undecodable(error),
        }
    })
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
    if error.is_redirect() {
        // Redirects are not followed (the policy is none), so reqwest never says this; kept so
        // that a change of policy cannot turn a redirect into a silent resend.
        return status::protocol("an unexpected redirect").with_source(error);
    }
    // Connect covers DNS, TCP and TLS: no byte of the request left.
    let reached = if error.is_connect() {
        Reached::Nothing
    } else {
        Reached::MaybeServer
    };
    status::connection(reached, error)
}

/// Reads the body, failing as soon as it passes [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(status::too_big());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(status::too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(status::connection(Reached::MaybeServer, e.without_url())),
        }
    }
}

/// The `google.rpc.Status` of an error body, if the body is one (ZITADEL's gateway writes it;
/// a proxy's page is not).
fn rpc_status(body: &[u8]) -> Option<RpcStatus> {
    #[derive(serde::Deserialize)]
    struct Body {
        code: i32,
        #[serde(default)]
        message: String,
        /// Read loosely: details that are not a list of objects leave the status without its
        /// `ErrorDetail`, as undecodable `grpc-status-details-bin` does on gRPC.
        #[serde(default)]
        details: serde_json::Value,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    let details = body
        .details
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
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
    Some(RpcStatus {
        code: body.code,
        message: body.message,
        detail,
    })
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
