//! REST/JSON through ZITADEL's gateway (HTTP/1.1 on the shared hyper client, paths from the HTTP
//! rule table).

use serde::Serialize;
use serde::de::DeserializeOwned;

use http::header::CONTENT_TYPE;

use super::http_stack::{self, Http, Protocol, ReadError, reached};
use super::status::{self, Reached, RpcStatus, Wire};
use super::{MAX_RESPONSE_BYTES, Settings};
use crate::error::Error;
use crate::proto::http_rules::{HttpRule, auth_service};
use crate::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};
use crate::stub::{BoxFuture, CallMetadata, Stub};
use crate::transport::Transport;

/// The REST transport: one hyper client (an HTTP/1.1 keep-alive pool) shared by all calls.
#[derive(Debug, Clone)]
pub(crate) struct JsonStub {
    http: Http,
    /// The endpoint without a trailing slash; rule paths start with `/`.
    base: String,
}

impl JsonStub {
    pub(crate) fn new(settings: &Settings) -> Result<JsonStub, Error> {
        let base = settings.endpoint.as_str().trim_end_matches('/').to_owned();
        http::Uri::try_from(base.as_str())
            .map_err(|e| Error::config(format!("invalid endpoint: {e}")))?;
        Ok(JsonStub {
            http: http_stack::http_client(&settings.tls, settings.connect_timeout, Protocol::Http1),
            base,
        })
    }

    /// One call of `rule`: the request as JSON, the answer decoded. Generic only around
    /// [`exchange`](Self::exchange), so each method adds its serde code and no more.
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
        let body = match rule.body {
            Some(_) => Some(
                serde_json::to_vec(request)
                    .map_err(|e| Error::config(format!("encoding the request failed: {e}")))?,
            ),
            None => None,
        };
        decode(&self.exchange(rule, path_params, body, metadata).await?)
    }

    /// The HTTP exchange of one call, the same for every method: sends `body` (JSON) to the
    /// rule's path and gives back the body of a JSON success.
    async fn exchange(
        &self,
        rule: &HttpRule,
        path_params: &[(&str, &str)],
        body: Option<Vec<u8>>,
        metadata: CallMetadata,
    ) -> Result<Vec<u8>, Error> {
        let method = http::Method::from_bytes(rule.verb.as_bytes())
            .map_err(|_| Error::config(format!("bad HTTP verb {}", rule.verb)))?;
        let uri = http::Uri::try_from(format!("{}{}", self.base, path(rule, path_params)))
            .map_err(|e| Error::config(format!("invalid request path: {e}")))?;
        let body = body.map(|bytes| (bytes.into(), "application/json"));
        let headers = super::metadata_headers(&metadata)?;
        let request = http_stack::json_request(method, uri, body, headers);

        let response = self
            .http
            .request(request)
            .await
            .map_err(|error| status::connection(reached(&error), error))?;
        let (head, body) = response.into_parts();
        let http_status = head.status.as_u16();
        if !status::zitadel_sends(Wire::Rest, http_status, None) {
            let body = read_capped(body).await?;
            return Err(status::answer(Wire::Rest, http_status, rpc_status(&body)));
        }
        // A success that is not the gateway's JSON is refused on its head, before its body is
        // read, as the gRPC transports refuse a wrong content type.
        let content_type = head
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .unwrap_or_default();
        if !is_json(&content_type) {
            return Err(status::unexpected_content_type(&content_type));
        }
        read_capped(body).await
    }
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

/// The rule's path with its `{field}` segments filled in, each value one escaped segment. A
/// value of `.` or `..` is escaped whole: sent as is, it would name the directory or its parent
/// (a client or proxy that normalises the path would send the request elsewhere).
fn path(rule: &HttpRule, params: &[(&str, &str)]) -> String {
    let mut path = rule.path.to_owned();
    for (name, value) in params {
        let segment = match *value {
            "." => "%2E".to_owned(),
            ".." => "%2E%2E".to_owned(),
            value => percent_encoding::utf8_percent_encode(value, SEGMENT).to_string(),
        };
        path = path.replace(&format!("{{{name}}}"), &segment);
    }
    path
}

/// Characters to escape in one path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Reads the body, failing as soon as it passes [`MAX_RESPONSE_BYTES`].
async fn read_capped(body: hyper::body::Incoming) -> Result<Vec<u8>, Error> {
    http_stack::read_capped(body, MAX_RESPONSE_BYTES)
        .await
        .map_err(|error| match error {
            ReadError::TooBig => status::too_big(),
            ReadError::Failed(error) => status::connection(Reached::MaybeServer, error),
        })
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
    fn a_path_value_is_one_segment() {
        let rule = &auth_service::REMOVE_MY_PASSWORDLESS;
        let path_of = |id: &str| path(rule, &[("token_id", id)]);
        assert_eq!(path_of("123"), "/auth/v1/users/me/passwordless/123");
        assert_eq!(path_of("a/b c"), "/auth/v1/users/me/passwordless/a%2Fb%20c");
        assert_eq!(path_of("."), "/auth/v1/users/me/passwordless/%2E");
        assert_eq!(path_of(".."), "/auth/v1/users/me/passwordless/%2E%2E");
        assert_eq!(path_of("a.b"), "/auth/v1/users/me/passwordless/a.b");
    }
}
