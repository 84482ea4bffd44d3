//! Raw clients for the mock's tests: hand-made HTTP/1.1 and HTTP/2 requests (hyper's client
//! connections, no pooling or retries), gRPC-web framing, and the generated tonic client.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use base64::Engine as _;
use bytes::{Buf, Bytes};
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpStream;
use zitadel_passkey::proto::google::rpc::Status as RpcStatus;
use zitadel_passkey::proto::zitadel::auth::v1::auth_service_client::AuthServiceClient;
use zitadel_passkey::proto::zitadel::v1::ErrorDetail;

pub const ADD_PATH: &str = "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink";
pub const SEND_PATH: &str = "/zitadel.auth.v1.AuthService/SendMyPasswordlessLink";
pub const LIST_PATH: &str = "/zitadel.auth.v1.AuthService/ListMyPasswordless";
pub const REMOVE_PATH: &str = "/zitadel.auth.v1.AuthService/RemoveMyPasswordless";
pub const REST_ADD: &str = "/auth/v1/users/me/passwordless/_link";
pub const REST_SEND: &str = "/auth/v1/users/me/passwordless/_send_link";
pub const REST_LIST: &str = "/auth/v1/users/me/passwordless/_search";
pub const REST_REMOVE: &str = "/auth/v1/users/me/passwordless/";

/// A complete HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one request over a fresh connection, HTTP/1.1 or HTTP/2 with prior knowledge.
pub async fn send(
    addr: SocketAddr,
    version: Version,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    send_io(
        stream,
        &addr.to_string(),
        "http",
        version,
        method,
        path,
        headers,
        body,
    )
    .await
}

/// Like [`send`] over an established stream (e.g. TLS); `authority` names the server.
#[allow(clippy::too_many_arguments)]
pub async fn send_io<I>(
    stream: I,
    authority: &str,
    scheme: &str,
    version: Version,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let mut request = Request::builder().method(method);
    if version == Version::HTTP_2 {
        request = request.uri(format!("{scheme}://{authority}{path}"));
    } else {
        request = request.uri(path);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request = request.header("host", authority);
        }
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).unwrap();
    let response = if version == Version::HTTP_2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    };
    let (parts, body) = response.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned();
    Ok(Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// A length-prefixed message frame (gRPC and gRPC-web).
pub fn frame(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&bytes);
    out
}

/// A gRPC-web answer taken apart: message frames, and the status from the trailer frame
/// (or from the headers when it came trailers-only).
#[derive(Debug)]
pub struct GrpcWebReply {
    pub messages: Vec<Bytes>,
    pub trailers: HeaderMap,
    pub trailers_only: bool,
}

pub fn parse_grpc_web(reply: &Reply) -> GrpcWebReply {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "gRPC-web answers HTTP 200: {reply:?}"
    );
    let text = reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/grpc-web-text"));
    let mut body = if text {
        Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(&reply.body)
                .unwrap(),
        )
    } else {
        reply.body.clone()
    };
    let mut messages = Vec::new();
    let mut trailers = HeaderMap::new();
    let mut saw_trailer_frame = false;
    while body.has_remaining() {
        assert!(body.len() >= 5, "truncated frame header");
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        assert!(body.len() >= len, "truncated frame");
        let payload = body.split_to(len);
        if flag & 0x80 != 0 {
            saw_trailer_frame = true;
            for line in std::str::from_utf8(&payload).unwrap().split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    trailers.insert(
                        http::HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
                            .unwrap(),
                        value.trim().parse().unwrap(),
                    );
                }
            }
        } else {
            messages.push(payload);
        }
    }
    let trailers_only = !saw_trailer_frame;
    if trailers_only {
        trailers = reply.headers.clone();
    }
    GrpcWebReply {
        messages,
        trailers,
        trailers_only,
    }
}

/// The status of gRPC trailers (or trailers-only headers): code, decoded message, ZITADEL detail.
#[derive(Debug, PartialEq)]
pub struct GrpcStatus {
    pub code: i32,
    pub message: String,
    pub detail: Option<ErrorDetail>,
    pub details_count: usize,
}

pub fn grpc_status(trailers: &HeaderMap) -> GrpcStatus {
    let code = trailers
        .get("grpc-status")
        .expect("grpc-status")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let message = trailers
        .get("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .unwrap_or_default();
    let (detail, details_count) = match trailers.get("grpc-status-details-bin") {
        Some(bin) => {
            let unpadded = bin.to_str().unwrap().trim_end_matches('=');
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .unwrap();
            let status = RpcStatus::decode(bytes.as_slice()).unwrap();
            assert_eq!(status.code, code);
            assert_eq!(status.message, message);
            let detail = status.details.first().map(|any| {
                assert_eq!(any.type_url, "type.googleapis.com/zitadel.v1.ErrorDetail");
                ErrorDetail::decode(any.value.as_slice()).unwrap()
            });
            (detail, status.details.len())
        }
        None => (None, 0),
    };
    GrpcStatus {
        code,
        message,
        detail,
        details_count,
    }
}

/// The generated tonic client over a plain channel.
pub async fn tonic_client(uri: &str) -> AuthServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(uri.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    AuthServiceClient::new(channel)
}

/// A tonic request with the given headers.
pub fn request<T>(message: T, headers: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in headers {
        request.metadata_mut().insert(*name, value.parse().unwrap());
    }
    request
}

/// Checks an ID is 18 decimal digits.
pub fn assert_id(id: &str) {
    assert_eq!(id.len(), 18, "{id:?}");
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id:?}");
    assert_ne!(&id[..1], "0");
}

/// The query parameters of a link.
pub fn link_params(link: &str) -> std::collections::HashMap<String, String> {
    let url = url::Url::parse(link).unwrap();
    url.query_pairs().into_owned().collect()
}

/// How a test reaches the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// tonic's client (HTTP/2, `application/grpc`).
    Grpc,
    /// Hand-made gRPC-web over HTTP/1.1, `application/grpc-web+proto`.
    GrpcWebH1,
    /// Hand-made gRPC-web over HTTP/2, `application/grpc-web`.
    GrpcWebH2,
    /// Hand-made gRPC-web-text over HTTP/1.1.
    GrpcWebText,
    /// REST/JSON over HTTP/1.1.
    JsonH1,
    /// REST/JSON over HTTP/2 (prior knowledge).
    JsonH2,
}

pub const ALL_VIAS: [Via; 6] = [
    Via::Grpc,
    Via::GrpcWebH1,
    Via::GrpcWebH2,
    Via::GrpcWebText,
    Via::JsonH1,
    Via::JsonH2,
];

impl Via {
    pub fn transport(self) -> &'static str {
        match self {
            Via::Grpc => "grpc",
            Via::GrpcWebH1 | Via::GrpcWebH2 | Via::GrpcWebText => "grpc-web",
            Via::JsonH1 | Via::JsonH2 => "json",
        }
    }

    pub fn http_version(self) -> &'static str {
        match self {
            Via::GrpcWebH1 | Via::GrpcWebText | Via::JsonH1 => "HTTP/1.1",
            _ => "HTTP/2",
        }
    }
}

/// An error answer, whatever the transport.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: i32,
    pub message: String,
    pub detail: Option<ErrorDetail>,
    /// REST only.
    pub http_status: Option<u16>,
    /// REST only.
    pub www_authenticate: Option<String>,
}

impl CallError {
    pub fn id(&self) -> Option<&str> {
        self.detail.as_ref().map(|d| d.id.as_str())
    }
}

/// One RPC: its gRPC path and REST verb and path.
#[derive(Debug, Clone, Copy)]
pub struct Rpc {
    pub grpc_path: &'static str,
    pub verb: &'static str,
    pub rest_path: &'static str,
}

pub const ADD: Rpc = Rpc {
    grpc_path: ADD_PATH,
    verb: "POST",
    rest_path: REST_ADD,
};
pub const SEND: Rpc = Rpc {
    grpc_path: SEND_PATH,
    verb: "POST",
    rest_path: REST_SEND,
};
pub const LIST: Rpc = Rpc {
    grpc_path: LIST_PATH,
    verb: "POST",
    rest_path: REST_LIST,
};
pub const REMOVE: Rpc = Rpc {
    grpc_path: REMOVE_PATH,
    verb: "DELETE",
    rest_path: REST_REMOVE,
};

/// Calls `rpc` via `via`; `rest_suffix` is appended to the REST path (the token ID of remove).
pub async fn call<Req, Resp>(
    uri: &str,
    via: Via,
    rpc: Rpc,
    message: Req,
    headers: &[(&'static str, &str)],
    rest_suffix: &str,
) -> Result<Resp, CallError>
where
    Req: Message + serde::Serialize + Send + Sync + 'static,
    Resp: Message + Default + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let addr: SocketAddr = uri.trim_start_matches("http://").parse().unwrap();
    match via {
        Via::Grpc => {
            let channel = tonic::transport::Channel::from_shared(uri.to_owned())
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.unwrap();
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            let path = http::uri::PathAndQuery::from_static(rpc.grpc_path);
            match grpc.unary(request(message, headers), path, codec).await {
                Ok(response) => Ok(response.into_inner()),
                Err(status) => {
                    let detail = if status.details().is_empty() {
                        None
                    } else {
                        let rpc_status = RpcStatus::decode(status.details()).unwrap();
                        assert_eq!(rpc_status.code, status.code() as i32);
                        assert_eq!(rpc_status.message, status.message());
                        assert_eq!(rpc_status.details.len(), 1);
                        assert_eq!(
                            rpc_status.details[0].type_url,
                            "type.googleapis.com/zitadel.v1.ErrorDetail"
                        );
                        Some(ErrorDetail::decode(rpc_status.details[0].value.as_slice()).unwrap())
                    };
                    Err(CallError {
                        code: status.code() as i32,
                        message: status.message().to_owned(),
                        detail,
                        http_status: None,
                        www_authenticate: None,
                    })
                }
            }
        }
        Via::GrpcWebH1 | Via::GrpcWebH2 | Via::GrpcWebText => {
            let (version, content_type) = match via {
                Via::GrpcWebH1 => (Version::HTTP_11, "application/grpc-web+proto"),
                Via::GrpcWebH2 => (Version::HTTP_2, "application/grpc-web"),
                _ => (Version::HTTP_11, "application/grpc-web-text"),
            };
            let mut body = frame(&message);
            if via == Via::GrpcWebText {
                body = base64::engine::general_purpose::STANDARD
                    .encode(&body)
                    .into_bytes();
            }
            let mut all: Vec<(&str, &str)> =
                vec![("content-type", content_type), ("x-grpc-web", "1")];
            all.extend(headers.iter().map(|(n, v)| (*n, *v)));
            let reply = send(addr, version, Method::POST, rpc.grpc_path, &all, body)
                .await
                .unwrap();
            let web = parse_grpc_web(&reply);
            let status = grpc_status(&web.trailers);
            if status.code == 0 {
                assert_eq!(web.messages.len(), 1);
                Ok(Resp::decode(web.messages[0].clone()).unwrap())
            } else {
                assert!(web.messages.is_empty());
                Err(CallError {
                    code: status.code,
                    message: status.message,
                    detail: status.detail,
                    http_status: None,
                    www_authenticate: None,
                })
            }
        }
        Via::JsonH1 | Via::JsonH2 => {
            let version = if via == Via::JsonH1 {
                Version::HTTP_11
            } else {
                Version::HTTP_2
            };
            let body = if rpc.verb == "POST" {
                serde_json::to_vec(&message).unwrap()
            } else {
                Vec::new()
            };
            let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
            all.extend(headers.iter().map(|(n, v)| (*n, *v)));
            let path = format!("{}{rest_suffix}", rpc.rest_path);
            let method = Method::from_bytes(rpc.verb.as_bytes()).unwrap();
            let reply = send(addr, version, method, &path, &all, body)
                .await
                .unwrap();
            assert_eq!(reply.header("content-type"), Some("application/json"));
            if reply.status == StatusCode::OK {
                Ok(serde_json::from_slice(&reply.body).unwrap())
            } else {
                let json = reply.json();
                let code = json["code"].as_i64().unwrap() as i32;
                let detail = json.get("details").map(|details| {
                    let details = details.as_array().unwrap();
                    assert_eq!(details.len(), 1);
                    assert_eq!(
                        details[0]["@type"],
                        "type.googleapis.com/zitadel.v1.ErrorDetail"
                    );
                    ErrorDetail {
                        id: details[0]["id"].as_str().unwrap().to_owned(),
                        message: details[0]["message"].as_str().unwrap().to_owned(),
                    }
                });
                Err(CallError {
                    code,
                    message: json["message"].as_str().unwrap().to_owned(),
                    detail,
                    http_status: Some(reply.status.as_u16()),
                    www_authenticate: reply.header("www-authenticate").map(str::to_owned),
                })
            }
        }
    }
}
