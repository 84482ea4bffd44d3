//! The hyper client under the guards, the bound on connecting, and what a failed exchange of
//! hyper or h2 says about whether the request left.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::frames::Mode;
use crate::error::BoxError;
use crate::transport::Settings;
use crate::transport::status::Reached;

/// The request body the hyper client takes (tonic's and tonic-web's bodies fail with a
/// `Status`; a concrete error type keeps the futures `Send` without higher-ranked trouble).
pub(crate) type OutBody = UnsyncBoxBody<Bytes, tonic::Status>;

/// The hyper client under the guards.
pub(crate) type Http =
    HyperClient<ConnectTimeout<hyper_rustls::HttpsConnector<HttpConnector>>, OutBody>;

/// One hyper client for the wire: HTTP/2 only (h2c with prior knowledge on `http://`, ALPN h2
/// on `https://`) for gRPC, an HTTP/1.1 keep-alive pool for gRPC-web.
pub(crate) fn http_client(settings: &Settings, mode: Mode) -> Http {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(settings.connect_timeout));
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*settings.tls).clone())
        .https_or_http();
    let connector = match mode {
        Mode::Grpc => tls.enable_http2().wrap_connector(tcp),
        Mode::GrpcWeb => tls.enable_http1().wrap_connector(tcp),
    };
    let mut builder = HyperClient::builder(TokioExecutor::new());
    builder
        // Headers and trailers are buffered too: keep them far below the body cap.
        .http1_max_buf_size(256 * 1024)
        .http2_max_header_list_size(256 * 1024)
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90));
    if mode == Mode::Grpc {
        builder
            .http2_only(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .http2_keep_alive_timeout(Duration::from_secs(10));
    }
    builder.build(ConnectTimeout::new(connector, settings.connect_timeout))
}

/// Bounds the whole connect, DNS, TCP and TLS handshake, where hyper's `HttpConnector` bounds
/// only the TCP part. hyper-util reports a connector error as a connect error, so a timeout
/// here counts as "never sent". Hand-written rather than `tower::timeout::Timeout`: hyper-util
/// wants a connector future that is `Unpin`, and tower's holds a tokio `Sleep`, which is not.
#[derive(Debug, Clone)]
pub(crate) struct ConnectTimeout<C> {
    inner: C,
    timeout: Duration,
}

impl<C> ConnectTimeout<C> {
    pub(crate) fn new(inner: C, timeout: Duration) -> ConnectTimeout<C> {
        ConnectTimeout { inner, timeout }
    }
}

impl<C> tower::Service<http::Uri> for ConnectTimeout<C>
where
    C: tower::Service<http::Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let (future, timeout) = (self.inner.call(uri), self.timeout);
        Box::pin(async move {
            match tokio::time::timeout(timeout, future).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(format!("connecting took longer than {timeout:?}").into()),
            }
        })
    }
}

/// How far a failed exchange got: nothing left only when hyper or h2 say so for certain.
pub(crate) fn reached(error: &(dyn std::error::Error + 'static)) -> Reached {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(error) = error.downcast_ref::<hyper_util::client::legacy::Error>()
            && error.is_connect()
        {
            // DNS, TCP or TLS failed: not a byte of the request left.
            return Reached::Nothing;
        }
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            if error.reason() == Some(h2::Reason::REFUSED_STREAM) {
                // RFC 9113 §8.7: the server did no processing of a refused stream.
                return Reached::Nothing;
            }
            if error.is_go_away() && error.is_remote() {
                // h2 fails a stream with the GOAWAY only when its id is above the GOAWAY's
                // last-stream-id, i.e. the server promises it never processed it (§6.8).
                return Reached::Nothing;
            }
        }
        if let Some(error) = error.downcast_ref::<hyper::Error>()
            && error.is_canceled()
        {
            // hyper cancels a request it never wrote when the connection closes first.
            return Reached::Nothing;
        }
        current = error.source();
    }
    Reached::MaybeServer
}
