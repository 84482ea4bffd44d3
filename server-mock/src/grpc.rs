//! The tonic service: gRPC, and gRPC-web through tonic-web's layer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::{Request, Response, Status};
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    ListMyPasswordlessResponse, RemoveMyPasswordlessRequest, RemoveMyPasswordlessResponse,
    SendMyPasswordlessLinkRequest, SendMyPasswordlessLinkResponse,
};

use crate::behaviour::{CallInfo, Caller};
use crate::proto::zitadel::auth::v1::auth_service_server::{AuthService, AuthServiceServer};
use crate::state::Shared;

/// The largest request message accepted (bigger ones get RESOURCE_EXHAUSTED).
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Adapts the behaviour module to the generated tonic trait.
#[derive(Debug, Clone)]
pub(crate) struct GrpcService {
    shared: Arc<Shared>,
}

/// The tonic server with our message-size limit and deadlines.
pub(crate) fn server(shared: Arc<Shared>) -> Deadline<AuthServiceServer<GrpcService>> {
    Deadline(
        AuthServiceServer::new(GrpcService { shared })
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(4 * 1024 * 1024),
    )
}

fn caller<T>(request: &Request<T>) -> Caller<'_> {
    let metadata = request.metadata();
    Caller {
        authorization: metadata.get("authorization").map(|v| v.as_bytes()),
        org_id: metadata.get("x-zitadel-orgid").map(|v| v.as_bytes()),
    }
}

fn info<T>(request: &Request<T>) -> Option<&CallInfo> {
    request.extensions().get::<CallInfo>()
}

/// Waits out a scripted delay, if any.
async fn delay<T>(request: &Request<T>) {
    if let Some(delay) = info(request).and_then(|info| info.delay) {
        tokio::time::sleep(delay).await;
    }
}

/// Parses `grpc-timeout` (`1..=8` digits and a unit of `H M S m u n`).
pub(crate) fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Honours the caller's `grpc-timeout` as a gRPC server does: past the deadline the call is
/// abandoned and answered DEADLINE_EXCEEDED. Sits under tonic-web's layer so gRPC-web gets the
/// same. (tonic does this only inside its own `Server`, which the mock does not use.)
#[derive(Debug, Clone)]
pub(crate) struct Deadline<S>(pub S);

impl<S, B> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        >,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| parse_grpc_timeout(v.as_bytes()));
        let future = self.0.call(request);
        Box::pin(async move {
            match timeout {
                None => future.await,
                Some(timeout) => match tokio::time::timeout(timeout, future).await {
                    Ok(result) => result,
                    Err(_) => Ok(Status::deadline_exceeded("Deadline Exceeded").into_http()),
                },
            }
        })
    }
}

#[tonic::async_trait]
impl AuthService for GrpcService {
    async fn list_my_passwordless(
        &self,
        request: Request<ListMyPasswordlessRequest>,
    ) -> Result<Response<ListMyPasswordlessResponse>, Status> {
        delay(&request).await;
        self.shared
            .list_my_passwordless(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn add_my_passwordless_link(
        &self,
        request: Request<AddMyPasswordlessLinkRequest>,
    ) -> Result<Response<AddMyPasswordlessLinkResponse>, Status> {
        delay(&request).await;
        self.shared
            .add_my_passwordless_link(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn send_my_passwordless_link(
        &self,
        request: Request<SendMyPasswordlessLinkRequest>,
    ) -> Result<Response<SendMyPasswordlessLinkResponse>, Status> {
        delay(&request).await;
        self.shared
            .send_my_passwordless_link(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn remove_my_passwordless(
        &self,
        request: Request<RemoveMyPasswordlessRequest>,
    ) -> Result<Response<RemoveMyPasswordlessResponse>, Status> {
        delay(&request).await;
        self.shared
            .remove_my_passwordless(
                info(&request),
                caller(&request),
                &request.get_ref().token_id,
            )
            .map(Response::new)
            .map_err(|e| e.to_status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(
            parse_grpc_timeout(b"100m"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout(b"99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in [&b""[..], b"m", b"123456789m", b"10x", b"-1S", b"1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
