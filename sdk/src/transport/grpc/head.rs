//! [`HeadGuard`], right above the hyper client: it sets the headers of the wire format, checks
//! the HTTP head of the answer and wraps its body in a [`GuardBody`].

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;

use super::body::GuardBody;
use super::frames::Mode;
use super::slot::{GuardError, Slot};
use super::trailers::read_status;
use crate::error::BoxError;
use crate::transport::USER_AGENT;
use crate::transport::http_stack::{Http, OutBody, reached};
use crate::transport::status::{self, Wire};

/// Named once: a name given as a `&str` is parsed again on every call.
static X_GRPC_WEB: http::HeaderName = http::HeaderName::from_static("x-grpc-web");

#[derive(Debug, Clone)]
pub(crate) struct HeadGuard {
    inner: Http,
    mode: Mode,
    slot: Slot,
}

impl HeadGuard {
    pub(crate) fn new(inner: Http, mode: Mode, slot: Slot) -> HeadGuard {
        HeadGuard { inner, mode, slot }
    }
}

impl<B> tower::Service<Request<B>> for HeadGuard
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::Status>,
{
    type Response = Response<GuardBody<hyper::body::Incoming>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower::Service::<Request<OutBody>>::poll_ready(&mut self.inner, cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        let headers = request.headers_mut();
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        if self.mode == Mode::GrpcWeb {
            // tonic-web's client says `application/grpc-web`; ZITADEL's wrapper is spoken to as
            // `+proto` (docs/wire-contract.md §4).
            let content_type = HeaderValue::from_static("application/grpc-web+proto");
            headers.insert(http::header::CONTENT_TYPE, content_type.clone());
            headers.insert(http::header::ACCEPT, content_type);
            headers.insert(X_GRPC_WEB.clone(), HeaderValue::from_static("1"));
            headers.remove(http::header::TE);
        }
        let (mode, slot) = (self.mode, self.slot.clone());
        if self.mode == Mode::GrpcWeb {
            // The client that was made ready goes into the future; its clone stays.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return Box::pin(async move {
                let request = with_fixed_length(request, &slot).await?;
                exchange(mode, &slot, inner.call(request)).await
            });
        }
        let future = self.inner.call(request);
        Box::pin(async move { exchange(mode, &slot, future).await })
    }
}

/// Sends through hyper and checks the head of the answer.
async fn exchange<F>(
    mode: Mode,
    slot: &Slot,
    future: F,
) -> Result<Response<GuardBody<hyper::body::Incoming>>, BoxError>
where
    F: Future<Output = Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>>,
{
    match future.await {
        Ok(response) => check_head(mode, slot, response).map_err(Into::into),
        Err(error) => {
            let failure = status::connection(reached(&error), error);
            Err(slot.fail(failure).into())
        }
    }
}

/// The gRPC-web request with its (one, already encoded) message as a body of known length.
/// tonic-web hands over a stream, which HTTP/1.1 would send chunked: headers and message in one
/// write and the closing chunk in another, which the server reads as two wake-ups. Browsers'
/// gRPC-web clients send a `content-length`, so this is also what ZITADEL's wrapper usually sees.
async fn with_fixed_length(
    request: Request<OutBody>,
    slot: &Slot,
) -> Result<Request<OutBody>, BoxError> {
    let (parts, body) = request.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            // Encoding failed before a byte left: nothing reached the server.
            let failure = crate::Error::with_kind(
                crate::ErrorKind::NotSent,
                crate::Code::Internal,
                format!("could not encode the request: {}", error.message()),
            );
            return Err(slot.fail(failure).into());
        }
    };
    let body = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(Request::from_parts(parts, body))
}

/// Checks the head of a gRPC or gRPC-web response and wraps its body.
fn check_head<RB>(
    mode: Mode,
    slot: &Slot,
    response: Response<RB>,
) -> Result<Response<GuardBody<RB>>, GuardError> {
    let (mut parts, body) = response.into_parts();
    let code = read_status(slot, &mut parts.headers).map_err(|e| slot.fail(e))?;
    let header_status = code.is_some();
    let http_status = parts.status.as_u16();
    if !status::zitadel_sends(Wire::Grpc, http_status, code) {
        return Err(slot.fail(status::proxy_answer(http_status)));
    }
    if !header_status {
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_content_type_of(mode, content_type) {
            return Err(slot.fail(status::unexpected_content_type(content_type)));
        }
    }
    let body = GuardBody::framed(body, mode, header_status, slot.clone());
    Ok(Response::from_parts(parts, body))
}

/// `application/grpc` (or `+proto`, `;params`) for gRPC, `application/grpc-web...` for gRPC-web.
fn is_content_type_of(mode: Mode, content_type: &str) -> bool {
    let expected = match mode {
        Mode::Grpc => "application/grpc",
        Mode::GrpcWeb => "application/grpc-web",
    };
    let matches = content_type
        .strip_prefix(expected)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('+') || rest.starts_with(';'));
    matches && !(mode == Mode::Grpc && content_type.starts_with("application/grpc-web"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_of_each_wire() {
        assert!(is_content_type_of(Mode::Grpc, "application/grpc"));
        assert!(is_content_type_of(Mode::Grpc, "application/grpc+proto"));
        assert!(!is_content_type_of(Mode::Grpc, "application/grpc-web"));
        assert!(!is_content_type_of(Mode::Grpc, "text/html"));
        assert!(is_content_type_of(
            Mode::GrpcWeb,
            "application/grpc-web+proto"
        ));
        assert!(is_content_type_of(Mode::GrpcWeb, "application/grpc-web"));
        assert!(!is_content_type_of(Mode::GrpcWeb, "application/grpc"));
    }
}
