//! The REST/JSON gateway, the login page, the OAuth endpoints and `/device` page, the admin API
//! and CORS, as one axum router.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zitadel_passkey::Code;
use zitadel_passkey::proto::http_rules::{ALL, HttpRule, auth_service};
use zitadel_passkey::proto::zitadel::auth::v1::{
    AddMyPasswordlessLinkRequest, AddMyPasswordlessLinkResponse, ListMyPasswordlessRequest,
    RemoveMyPasswordlessRequest, SendMyPasswordlessLinkRequest,
};

use crate::behaviour::{CallInfo, Caller, ORG_HEADER, Outcome};
use crate::error::MockError;
use crate::grpc::MAX_MESSAGE_SIZE;
use crate::routes::match_template;
use crate::state::Shared;

/// CORS in front of the gateway, as rs/cors with ZITADEL's options answers (`cors.rs`): a
/// preflight never reaches a route; every other answer gets `Vary` and, for a request with an
/// `Origin`, the `Access-Control-*` headers.
async fn rest_cors(request: Request, next: axum::middleware::Next) -> Response {
    if crate::cors::is_preflight(request.method(), request.headers()) {
        return crate::cors::REST.preflight(request.headers());
    }
    let method = request.method().clone();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = next.run(request).await;
    crate::cors::REST.actual(&method, origin.as_ref(), response.headers_mut());
    response
}

/// One RPC whose rule the front end already matched: the handler the router would run, with the
/// same CORS headers, without the router's second match of the path. The router still serves
/// everything else (the login page, the admin API, preflights, wrong methods, unknown paths).
/// The front end's `CallInfo` comes as an argument rather than in the request's extensions, and
/// the body unboxed: the extensions map and the box cost 0.8k instructions a call (callgrind).
pub(crate) async fn call_rule<B>(
    shared: Arc<Shared>,
    rule: &'static HttpRule,
    info: CallInfo,
    request: http::Request<B>,
) -> Response
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    let method = request.method().clone();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = rest_call(shared, rule, Some(&info), request).await;
    crate::cors::REST.actual(&method, origin.as_ref(), response.headers_mut());
    response
}

/// The router for everything that is neither gRPC nor gRPC-web.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for rule in ALL {
        let filter = match rule.verb {
            "GET" => MethodFilter::GET,
            "PUT" => MethodFilter::PUT,
            "PATCH" => MethodFilter::PATCH,
            "DELETE" => MethodFilter::DELETE,
            _ => MethodFilter::POST,
        };
        router = router.route(
            rule.path,
            on(
                filter,
                move |State(shared): State<Arc<Shared>>, request: Request| {
                    // The front end hands every RPC it matched to `call_rule`, so what gets here
                    // is a request it did not take for a call (axum's GET routes also answer
                    // HEAD): no `CallInfo`, so no fault and no journal entry.
                    rest_call(shared, rule, None, request)
                },
            ),
        );
    }
    router
        .merge(crate::login::router())
        .merge(crate::oauth::router())
        .nest(crate::admin::ADMIN_PREFIX, crate::admin::router())
        .method_not_allowed_fallback(|| async {
            MockError::fixed(Code::Unimplemented, None, "Method Not Allowed")
                .to_rest_response_with_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .fallback(|| async {
            MockError::fixed(Code::NotFound, None, "Not Found").to_rest_response()
        })
        .layer(axum::middleware::from_fn(rest_cors))
        .with_state(shared)
}

/// Reads a request body of at most 64 KiB (`Limited` refuses the frame that would go past it).
/// The frames are gathered by hand: `BodyExt::collect` keeps them in a list, an allocation, even
/// for the single frame a call's small body is, and its future cost 0.8k instructions a REST call
/// (callgrind); the one frame is returned as is.
pub(crate) async fn read_body<B>(body: B) -> Result<Bytes, MockError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    let mut body = std::pin::pin!(Limited::new(body, MAX_MESSAGE_SIZE));
    let mut first = Bytes::new();
    let mut more: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            if error.is::<LengthLimitError>() {
                body_too_large()
            } else {
                MockError::fixed(
                    Code::InvalidArgument,
                    None,
                    "failed to read the request body",
                )
            }
        })?;
        // Trailers, which a request body may end with, are not part of the message.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Some(more) = &mut more {
            more.extend_from_slice(&data);
        } else if first.is_empty() {
            first = data;
        } else {
            let mut joined = BytesMut::with_capacity(first.len() + data.len());
            joined.extend_from_slice(&first);
            joined.extend_from_slice(&data);
            more = Some(joined);
        }
    }
    Ok(more.map_or(first, BytesMut::freeze))
}

fn body_too_large() -> MockError {
    MockError::fixed(
        Code::ResourceExhausted,
        None,
        "request body too large (the limit is 65536 bytes)",
    )
}

/// Decodes the JSON body of a `body: "*"` rule; an empty body is the empty message.
fn decode<T: DeserializeOwned + Default>(rule: &HttpRule, body: &[u8]) -> Result<T, MockError> {
    if rule.body.is_none() || body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        MockError::owned(
            Code::InvalidArgument,
            "",
            format!("invalid JSON request body: {e}"),
        )
    })
}

fn json<T: Serialize>(message: &T) -> Response {
    match serde_json::to_vec(message) {
        Ok(body) => json_answer(body),
        Err(_) => MockError::fixed(Code::Internal, None, "failed to encode the response")
            .to_rest_response(),
    }
}

/// A link answer: written directly where it can be (see `link_json`), through serde otherwise.
fn link_json(answer: &AddMyPasswordlessLinkResponse) -> Response {
    match crate::link_json::link_answer(answer) {
        Some(body) => json_answer(body),
        None => json(answer),
    }
}

/// A 200 with a JSON body, built directly: axum's `IntoResponse` for a header array and a `Vec`
/// went through its response-parts machinery (0.9k instructions a call).
fn json_answer(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// One REST call: read and decode the body, run the behaviour, answer JSON.
async fn rest_call<B>(
    shared: Arc<Shared>,
    rule: &'static HttpRule,
    info: Option<&CallInfo>,
    request: http::Request<B>,
) -> Response
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    let (parts, body) = request.into_parts();
    if let Some(delay) = info.and_then(|info| info.delay) {
        tokio::time::sleep(delay).await;
    }
    let caller = Caller {
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
        org_id: parts.headers.get(ORG_HEADER).map(HeaderValue::as_bytes),
    };
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(error) => {
            record(info, &error);
            // An oversized body is 413 (not the 429 that code 8 maps to): it is the gateway's
            // answer, the call never reaches the RPC.
            let status = if error.code() == Code::ResourceExhausted {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                crate::error::http_status(error.code())
            };
            return error.to_rest_response_with_status(status);
        }
    };
    match dispatch(&shared, rule, info, caller, parts.uri.path(), &body) {
        Ok(response) => response,
        Err(error) => {
            // The behaviour records its own outcome; this covers JSON decoding errors.
            record(info, &error);
            error.to_rest_response()
        }
    }
}

fn record(info: Option<&CallInfo>, error: &MockError) {
    if let Some(info) = info {
        let _ = info.outcome.set(Outcome {
            code: error.code(),
            error_id: error.id().map(str::to_owned),
        });
    }
}

fn dispatch(
    shared: &Shared,
    rule: &'static HttpRule,
    info: Option<&CallInfo>,
    caller: Caller<'_>,
    path: &str,
    body: &[u8],
) -> Result<Response, MockError> {
    if rule.grpc_path == auth_service::ADD_MY_PASSWORDLESS_LINK.grpc_path {
        decode::<AddMyPasswordlessLinkRequest>(rule, body)?;
        shared
            .add_my_passwordless_link(info, caller)
            .map(|r| link_json(&r))
    } else if rule.grpc_path == auth_service::SEND_MY_PASSWORDLESS_LINK.grpc_path {
        decode::<SendMyPasswordlessLinkRequest>(rule, body)?;
        shared
            .send_my_passwordless_link(info, caller)
            .map(|r| json(&r))
    } else if rule.grpc_path == auth_service::LIST_MY_PASSWORDLESS.grpc_path {
        decode::<ListMyPasswordlessRequest>(rule, body)?;
        shared.list_my_passwordless(info, caller).map(|r| json(&r))
    } else if rule.grpc_path == auth_service::REMOVE_MY_PASSWORDLESS.grpc_path {
        let mut request = decode::<RemoveMyPasswordlessRequest>(rule, body)?;
        if let Some(Some(token_id)) = match_template(rule.path, path) {
            request.token_id = token_id.into_owned();
        }
        shared
            .remove_my_passwordless(info, caller, &request.token_id)
            .map(|r| json(&r))
    } else {
        Err(MockError::fixed(
            Code::Unimplemented,
            None,
            "Not Implemented",
        ))
    }
}
