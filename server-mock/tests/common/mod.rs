//! Raw clients for the mock's tests, on top of `zitadel-passkey-test-support` (re-exported here:
//! the raw HTTP/1.1 and h2 client, gRPC-web frames, gRPC status): the RPCs' paths, the generated
//! tonic client, and `call`, one RPC over any transport.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode, Version};
use prost::Message;
use zitadel_passkey::proto::google::rpc::Status as RpcStatus;
use zitadel_passkey::proto::zitadel::auth::v1::auth_service_client::AuthServiceClient;
use zitadel_passkey::proto::zitadel::v1::ErrorDetail;
pub use zitadel_passkey_test_support::*;

pub const ADD_PATH: &str = "/zitadel.auth.v1.AuthService/AddMyPasswordlessLink";
pub const SEND_PATH: &str = "/zitadel.auth.v1.AuthService/SendMyPasswordlessLink";
pub const LIST_PATH: &str = "/zitadel.auth.v1.AuthService/ListMyPasswordless";
pub const REMOVE_PATH: &str = "/zitadel.auth.v1.AuthService/RemoveMyPasswordless";
pub const REST_ADD: &str = "/auth/v1/users/me/passwordless/_link";
pub const REST_SEND: &str = "/auth/v1/users/me/passwordless/_send_link";
pub const REST_LIST: &str = "/auth/v1/users/me/passwordless/_search";
pub const REST_REMOVE: &str = "/auth/v1/users/me/passwordless/";

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
            let mut body = message_frame(&message);
            if via == Via::GrpcWebText {
                body = b64(&body).into_bytes();
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

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// From the first call on, counts the panics outside the tests' own code (`tests/` and
/// test-support): the mock's tasks, hyper's, h2's. A failed assertion of a test does not count.
pub fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = info.location().is_some_and(|l| {
                let file = l.file();
                file.contains("tests/") || file.contains("test-support")
            });
            if !ours {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// How many panics [`count_panics`] has counted (since [`reset_panics`]).
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Starts the count of [`panics`] again.
pub fn reset_panics() {
    PANICS.store(0, Ordering::SeqCst);
}
