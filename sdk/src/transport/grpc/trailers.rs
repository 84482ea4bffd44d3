//! Reading the status of a gRPC or gRPC-web answer out of its headers or trailers
//! (`grpc-status`, `grpc-status-details-bin`), and [`TrailerGuard`], which does it for the
//! trailers tonic-web decoded from a gRPC-web trailer frame.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Request, Response};

use super::body::{GuardBody, InnerErrors};
use super::slot::Slot;
use crate::error::{BoxError, Error};
use crate::transport::status;

// Named once: a name given as a `&str` is parsed again on every lookup.
static STATUS: HeaderName = HeaderName::from_static("grpc-status");
static DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");

/// Reads `grpc-status` into the slot and takes `grpc-status-details-bin` out of the map, so
/// tonic never parses it (tonic 0.14 can panic on details that are not base64). Returns the
/// code, if a status was there.
pub(crate) fn read_status(slot: &Slot, headers: &mut HeaderMap) -> Result<Option<i32>, Error> {
    if let Some(details) = headers.remove(&DETAILS) {
        let detail = decode_details(&details).and_then(|bytes| detail_from_status_bytes(&bytes));
        if detail.is_none() {
            tracing::debug!("ignoring a grpc-status-details-bin without a readable ErrorDetail");
        }
        slot.set_detail(detail);
    }
    let Some(value) = headers.get(&STATUS) else {
        return Ok(None);
    };
    let code = value
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or_else(|| status::protocol("a non-numeric grpc-status"))?;
    slot.set_status(code);
    Ok(Some(code))
}

/// Standard base64, padded or not (both are valid for binary metadata).
fn decode_details(value: &HeaderValue) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE.decode(value.as_bytes().trim_ascii()).ok()
}

/// ZITADEL's `ErrorDetail` (id, message) out of a binary `google.rpc.Status`, if it has one
/// that decodes.
fn detail_from_status_bytes(bytes: &[u8]) -> Option<(String, String)> {
    use prost::Message;
    let status = crate::proto::google::rpc::Status::decode(bytes).ok()?;
    status.details.iter().find_map(|any| {
        if any.type_url.rsplit('/').next() != Some("zitadel.v1.ErrorDetail") {
            return None;
        }
        let detail = crate::proto::zitadel::v1::ErrorDetail::decode(any.value.as_slice()).ok()?;
        Some((detail.id, detail.message))
    })
}

/// Sits above tonic-web's client service: checks the trailers it decoded from the trailer frame.
#[cfg_attr(not(feature = "grpc-web"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct TrailerGuard<S> {
    inner: S,
    slot: Slot,
}

impl<S> TrailerGuard<S> {
    #[cfg_attr(not(feature = "grpc-web"), allow(dead_code))]
    pub(crate) fn new(inner: S, slot: Slot) -> TrailerGuard<S> {
        TrailerGuard { inner, slot }
    }
}

impl<S, B, RB> tower::Service<Request<B>> for TrailerGuard<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<GuardBody<RB>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let slot = self.slot.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await.map_err(Into::into)?;
            let (mut parts, body) = response.into_parts();
            let header_status = read_status(&slot, &mut parts.headers)
                .map_err(|e| slot.fail(e))?
                .is_some();
            // tonic-web's errors here are about the gRPC-web framing it decoded.
            let body = GuardBody::trailers_only(body, header_status, InnerErrors::Protocol, slot);
            Ok(Response::from_parts(parts, body))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_accept_padded_and_unpadded_base64_only() {
        assert_eq!(
            decode_details(&HeaderValue::from_static("YWI=")).unwrap(),
            b"ab"
        );
        assert_eq!(
            decode_details(&HeaderValue::from_static("YWI")).unwrap(),
            b"ab"
        );
        assert!(decode_details(&HeaderValue::from_static("!!!")).is_none());
        assert!(decode_details(&HeaderValue::from_static("YWJj=")).is_none());
    }

    #[test]
    fn a_non_numeric_status_breaks_the_protocol() {
        let mut headers = HeaderMap::new();
        headers.insert(STATUS.clone(), HeaderValue::from_static("sixteen"));
        let error = read_status(&Slot::default(), &mut headers).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Malformed);
    }
}
