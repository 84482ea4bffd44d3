//! The front end: one TCP port, HTTP/1.1 and h2c (or TLS with ALPN), routed by content type;
//! faults, the journal and graceful shutdown. RPCs and the OAuth endpoints go through the same
//! steps here (the call is matched once in `routes`, a fault taken once, one journal entry).

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::body::Body;
use tonic_web::GrpcWebLayer;
use tower::{Layer, ServiceExt};
use zitadel_passkey::{Code, Transport};

use crate::behaviour::{CallInfo, ORG_HEADER, Origin, Outcome, bearer_token};
use crate::cors;
use crate::error::grpc_go_message;
use crate::fault::FaultKind;
use crate::grpc::{self, GrpcService};
use crate::journal::JournalEntry;
use crate::proto::zitadel::auth::v1::auth_service_server::AuthServiceServer;
use crate::routes::{Call, grpc_call, http_call};
use crate::state::Shared;
use crate::token_digest::TokenDigest;
use crate::watchdog::{self, Watch, Watched};

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
/// How long shutdown waits for in-flight calls before closing connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Grpc = grpc::Deadline<AuthServiceServer<GrpcService>>;
type GrpcWeb = tonic_web::GrpcWebService<Grpc>;

/// The three services behind the port, built once.
pub(crate) struct App {
    pub shared: Arc<Shared>,
    grpc: Grpc,
    grpc_web: GrpcWeb,
    rest: axum::Router,
    scheme: &'static str,
    public_origin: Option<Arc<str>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("scheme", &self.scheme).finish()
    }
}

impl App {
    pub fn new(shared: Arc<Shared>, tls: bool) -> Self {
        let grpc = grpc::server(shared.clone());
        let grpc_web = GrpcWebLayer::new().layer(grpc.clone());
        Self {
            rest: crate::rest::router(shared.clone()),
            grpc,
            grpc_web,
            public_origin: shared.config.public_origin.as_deref().map(Arc::from),
            shared,
            scheme: if tls { "https" } else { "http" },
        }
    }

    fn origin(&self, request: &Request<Incoming>) -> Origin {
        if let Some(origin) = &self.public_origin {
            return Origin::Public(origin.clone());
        }
        if let Some(authority) = request.uri().authority() {
            return Origin::Authority(self.scheme, authority.clone());
        }
        match request.headers().get(header::HOST) {
            Some(host) => Origin::Host(self.scheme, host.clone()),
            None => Origin::Unknown(self.scheme),
        }
    }

    /// Sends the request to gRPC, gRPC-web or the REST router. A gRPC answer is still tonic's
    /// here (an error trailers-only, so [`outcome_of`] can read it); [`finish`] makes it grpc-go's.
    async fn route(&self, service: Service, request: Request<Incoming>) -> Response<Body> {
        match service {
            // gRPC, the hot path, passes tonic's body through.
            Service::Grpc => match self.grpc.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Service::GrpcWeb => {
                let method = request.method().clone();
                let origin = request.headers().get(header::ORIGIN).cloned();
                match self.grpc_web.clone().oneshot(request).await {
                    Ok(mut response) => {
                        // Unary errors come in the headers (improbable-eng's wrapper does the
                        // same), with the wrapper's CORS headers.
                        let headers = response.headers_mut();
                        grpc_go_message(headers);
                        cors::GRPC_WEB.actual(&method, origin.as_ref(), headers);
                        cors::grpc_web_exposed(headers);
                        response.map(Body::new)
                    }
                    Err(never) => match never {},
                }
            }
            Service::Rest => match self.rest.clone().oneshot(request).await {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            },
        }
    }

    /// Handles one request: classify, apply faults, route, journal.
    pub(crate) async fn handle(
        &self,
        mut request: Request<Incoming>,
        watch: &Watch,
    ) -> Response<Body> {
        // ZITADEL routes a preflight naming `x-grpc-web` to the gRPC-web wrapper, whatever the
        // path; every other preflight reaches the REST gateway's CORS layer (`rest.rs`).
        if cors::is_grpc_web_preflight(request.method(), request.headers())
            && cors::is_preflight(request.method(), request.headers())
        {
            return cors::GRPC_WEB.preflight(request.headers());
        }
        let service = classify(&request);
        let call = match service {
            Service::Grpc | Service::GrpcWeb => grpc_call(request.uri().path()),
            Service::Rest => http_call(request.method(), request.uri().path()),
        };
        let Some(call) = call else {
            // Not a call we serve: the admin API, the login page, the OAuth discovery document
            // and `/device` page, CORS preflights, or an unknown path, answered by the router or
            // tonic without faults or journal.
            let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
            let path = request.uri().path();
            if path.starts_with(crate::login::LOGIN_PREFIX) || path == crate::oauth::DISCOVERY_PATH
            {
                // The login page's WebAuthn origin and RP ID are those of its links; the
                // discovery document's issuer is the origin too.
                let origin = self.origin(&request);
                request.extensions_mut().insert(origin);
            }
            return finish(service, self.route(service, request).await, content_type);
        };
        let method = call.method();
        let transport = service.transport();

        let fault = self.shared.take_fault(method, transport);
        let token_digest = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| bearer_token(v.as_bytes()))
            .map(TokenDigest::of);
        let mut entry = Journaled {
            shared: &self.shared,
            token: token_digest,
            entry: Some(JournalEntry {
                time: std::time::UNIX_EPOCH,
                transport,
                http_version: version_name(request.version()),
                method,
                org_id: request.headers().get(ORG_HEADER).map(journal_org_id),
                code: None,
                error_id: None,
                // Written when the journal is read, from `token`.
                token_fingerprint: None,
                fault: fault.as_ref().map(|f| f.kind().name()),
            }),
        };
        let mut injected = None;
        let mut injected_oauth = None;
        let mut delay = None;
        let mut drop_after = false;
        match fault.map(|f| f.kind) {
            None => {}
            Some(FaultKind::Error(error)) => injected = Some(error),
            Some(FaultKind::OAuthError { error, description }) => {
                injected_oauth = Some(crate::oauth::OAuthError::owned(error, description));
            }
            // Slept in the handler, so that a deadline (`grpc-timeout`) can cut it short.
            Some(FaultKind::Delay(d)) => delay = Some(d),
            Some(FaultKind::DropBeforeHandler) => {
                entry.record(None);
                watch.drop_connection();
                return std::future::pending().await;
            }
            Some(FaultKind::DropAfterHandler) => drop_after = true,
            Some(FaultKind::ProxyStatus(status)) => {
                entry.record(None);
                return proxy_response(status);
            }
        }

        let outcome = Arc::new(OnceLock::new());
        let info = CallInfo {
            origin: self.origin(&request),
            injected,
            injected_oauth,
            delay,
            outcome: outcome.clone(),
            token_digest,
        };
        // Only a gRPC answer mirrors the request's content type (`finish`).
        let content_type = match service {
            Service::Grpc => request.headers().get(header::CONTENT_TYPE).cloned(),
            Service::GrpcWeb | Service::Rest => None,
        };
        let response = match call {
            // Matched above: straight to the handler, not through the router's second match.
            Call::Rest(rule) => crate::rest::call_rule(self.shared.clone(), rule, info, request)
                .await
                .map(Body::new),
            Call::Grpc(_) | Call::OAuth(_) => {
                request.extensions_mut().insert(info);
                self.route(service, request).await
            }
        };
        entry.record(outcome.get().cloned().or_else(|| outcome_of(&response)));
        if drop_after {
            watch.drop_connection();
            return std::future::pending().await;
        }
        finish(service, response, content_type)
    }
}

/// The last touch on an answer: gRPC goes out as grpc-go's `ServeHTTP` sends it (status always in
/// a trailers block, never trailers-only; `content-type` mirrors the request's).
fn finish(
    service: Service,
    response: Response<Body>,
    content_type: Option<HeaderValue>,
) -> Response<Body> {
    match service {
        Service::Grpc => grpc::as_grpc_go(response, content_type),
        Service::GrpcWeb | Service::Rest => response,
    }
}

/// A journal entry that is written exactly once: with the outcome, or, if the call is dropped
/// before it has one (the client went away), as CANCELLED.
struct Journaled<'a> {
    shared: &'a Shared,
    token: Option<TokenDigest>,
    entry: Option<JournalEntry>,
}

impl Journaled<'_> {
    fn record(&mut self, outcome: Option<Outcome>) {
        if let Some(mut entry) = self.entry.take() {
            if let Some(outcome) = outcome {
                entry.code = Some(outcome.code);
                entry.error_id = outcome.error_id;
            }
            entry.time = self.shared.clock.now();
            self.shared.record(entry, self.token);
        }
    }
}

impl Drop for Journaled<'_> {
    fn drop(&mut self) {
        self.record(Some(Outcome {
            code: Code::Cancelled,
            error_id: None,
        }));
    }
}

/// The longest `x-zitadel-orgid` value the journal keeps whole (IDs have 18 digits).
const JOURNAL_ORG_ID_MAX: usize = 256;

/// The `x-zitadel-orgid` header for the journal: a client's 64 KiB header must not cost 64 KiB in
/// each of the journal's 10 000 entries, so a longer value is cut (and marked with `…`).
fn journal_org_id(value: &HeaderValue) -> String {
    let bytes = value.as_bytes();
    match bytes.get(..JOURNAL_ORG_ID_MAX) {
        Some(start) if bytes.len() > JOURNAL_ORG_ID_MAX => {
            let mut text = String::from_utf8_lossy(start).into_owned();
            text.push('…');
            text
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The service a request goes to, one per transport. The SDK's [`Transport`] is
/// `#[non_exhaustive]`; this is the mock's exhaustive view of it, so that routing needs no
/// catch-all arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Grpc,
    GrpcWeb,
    Rest,
}

impl Service {
    /// The transport faults filter on and the journal names.
    fn transport(self) -> Transport {
        match self {
            Service::Grpc => Transport::Grpc,
            Service::GrpcWeb => Transport::GrpcWeb,
            Service::Rest => Transport::Json,
        }
    }
}

/// The transport by content type and HTTP version (docs/wire-contract.md §4): gRPC only over HTTP/2. Over
/// HTTP/1.x `application/grpc` goes to the REST gateway like any other type (a 404 there): gRPC
/// needs trailers, and running the handler would create a code the client cannot learn about.
fn classify<B>(request: &Request<B>) -> Service {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if content_type.starts_with(b"application/grpc-web") {
        Service::GrpcWeb
    } else if content_type.starts_with(b"application/grpc") && request.version() == Version::HTTP_2
    {
        Service::Grpc
    } else {
        Service::Rest
    }
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_3 => "HTTP/3",
        Version::HTTP_09 => "HTTP/0.9",
        _ => "HTTP/1.1",
    }
}

/// The outcome of a call the handler never saw (tonic rejected it): from `grpc-status` of a
/// trailers-only answer.
fn outcome_of(response: &Response<Body>) -> Option<Outcome> {
    let code = response
        .headers()
        .get(GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())?;
    Some(Outcome {
        code: Code::from_i32(code),
        error_id: None,
    })
}

fn proxy_response(status: u16) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = format!(
        "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>\n"
    );
    let mut response = Response::new(Body::new(http_body_util::Full::new(bytes::Bytes::from(
        body,
    ))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// The hyper connection builder with our limits.
fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // No `header_read_timeout`: the watchdog closes connections whose head is late.
        .max_buf_size(256 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        // Reset-flood protection ("rapid reset", CVE-2023-44487, and its local-error variant).
        .max_pending_accept_reset_streams(50)
        .max_local_error_reset_streams(1024)
        .max_header_list_size(64 * 1024)
        .max_send_buf_size(1024 * 1024);
    builder
}

/// Serves `listener` until `shutdown` flips, then lets in-flight calls finish.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(connection_builder());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        // Out of file descriptors and the like: back off a little.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let tls = tls.clone();
                let watch = Arc::new(Watch::default());
                let ended = watch.ended_on_drop();
                let connection_watch = watch.clone();
                let connection = connections.spawn(async move {
                    let _ended = ended;
                    let watch = connection_watch;
                    match tls {
                        None => serve_connection(stream, app, &builder, watcher, watch).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => serve_connection(stream, app, &builder, watcher, watch).await,
                                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        }
                    }
                });
                connections.spawn(watchdog::run(watch, connection));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    tracing::debug!("shutting down: waiting for in-flight calls");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight calls did not finish in time; closing connections");
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn serve_connection<I>(
    io: I,
    app: Arc<App>,
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    watch: Arc<Watch>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Watched::new(io, watch.clone()));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let watch = watch.clone();
        async move {
            let _call = watch.call();
            Ok::<_, Infallible>(app.handle(request, &watch).await)
        }
    });
    let connection = builder.serve_connection(io, service).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}
