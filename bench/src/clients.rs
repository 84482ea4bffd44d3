//! The clients under test: the SDK, the bare stacks it is built on (the baselines), the
//! community `zitadel` crate, and a raw TCP ping-pong (the floor).

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tower::Layer;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkRequest;
use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::auth::v1::auth_service_client::AuthServiceClient;

use crate::wire::{REST_PATH, TOKEN, Transport};

/// Which client a measurement uses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Our SDK (`zitadel_passkey::Client`).
    Sdk,
    /// The same stack without the SDK: tonic's `Channel` with the generated client (gRPC),
    /// tonic-web's client layer over hyper (gRPC-web), reqwest with serde (REST; the SDK uses
    /// hyper-util's client directly).
    Bare,
    /// The community `zitadel` crate (gRPC only).
    Peer,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Sdk => "sdk",
            Variant::Bare => "bare",
            Variant::Peer => "peer",
        }
    }

    /// What the baseline is, per transport, for the report.
    pub fn describe(self, transport: Transport) -> &'static str {
        match (self, transport) {
            (Variant::Sdk, _) => "zitadel-passkey",
            (Variant::Bare, Transport::Grpc) => "bare tonic",
            (Variant::Bare, Transport::GrpcWeb) => "bare tonic-web",
            (Variant::Bare, Transport::Json) => "bare reqwest",
            (Variant::Peer, _) => "zitadel 5.7.7",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [Variant::Sdk, Variant::Bare, Variant::Peer]
            .into_iter()
            .find(|v| v.name() == text)
            .ok_or_else(|| format!("unknown client {text:?} (sdk, bare or peer)"))
    }
}

type WebService = tonic_web::GrpcWebClientService<
    HyperClient<HttpConnector, tonic_web::GrpcWebCall<tonic::body::Body>>,
>;

/// A connected client making the one call.
pub enum Caller {
    Sdk(zitadel_passkey::Client),
    TonicGrpc(AuthServiceClient<Channel>),
    TonicWeb(Box<AuthServiceClient<WebService>>),
    Reqwest(reqwest::Client, String),
    #[cfg(feature = "peer-zitadel")]
    Peer(crate::peer::PeerClient),
    /// One TCP connection: write `request` bytes, read `response` bytes.
    PingPong(Mutex<TcpStream>, usize, usize),
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Caller::Sdk(_) => "sdk",
            Caller::TonicGrpc(_) => "tonic",
            Caller::TonicWeb(_) => "tonic-web",
            Caller::Reqwest(..) => "reqwest",
            #[cfg(feature = "peer-zitadel")]
            Caller::Peer(_) => "zitadel",
            Caller::PingPong(..) => "tcp ping-pong",
        };
        f.write_str(name)
    }
}

impl Caller {
    /// A client of `variant` for `transport` against `url`, connected and warmed by one call.
    pub async fn connect(variant: Variant, transport: Transport, url: &str) -> Result<Caller> {
        let caller = match (variant, transport) {
            (Variant::Sdk, _) => Caller::Sdk(
                zitadel_passkey::Client::builder(url)
                    .transport(transport.sdk())
                    .token(TOKEN)
                    .build()?,
            ),
            (Variant::Bare, Transport::Grpc) => {
                let channel = Endpoint::from_shared(url.to_owned())?
                    .tcp_nodelay(true)
                    .connect()
                    .await?;
                Caller::TonicGrpc(AuthServiceClient::new(channel))
            }
            (Variant::Bare, Transport::GrpcWeb) => {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                let http = HyperClient::builder(TokioExecutor::new()).build(connector);
                let service = tonic_web::GrpcWebClientLayer::new().layer(http);
                let origin = http::Uri::try_from(url)?;
                Caller::TonicWeb(Box::new(AuthServiceClient::with_origin(service, origin)))
            }
            (Variant::Bare, Transport::Json) => {
                let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
                Caller::Reqwest(http, format!("{}{REST_PATH}", url.trim_end_matches('/')))
            }
            (Variant::Peer, Transport::Grpc) => peer(url).await?,
            (Variant::Peer, _) => bail!("the zitadel crate speaks gRPC only"),
        };
        caller.call().await.context("the first call")?;
        Ok(caller)
    }

    /// A raw TCP ping-pong client of a `serve ping-pong` server.
    pub async fn ping_pong(address: &str, request: usize, response: usize) -> Result<Caller> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Caller::PingPong(Mutex::new(stream), request, response))
    }

    /// Makes the call once; fails unless it succeeded.
    pub async fn call(&self) -> Result<()> {
        match self {
            Caller::Sdk(client) => {
                let link = client.add_passkey_link().await?;
                std::hint::black_box(link);
            }
            Caller::TonicGrpc(client) => {
                let response = client
                    .clone()
                    .add_my_passwordless_link(bearer(AddMyPasswordlessLinkRequest {}))
                    .await?;
                std::hint::black_box(response.into_inner());
            }
            Caller::TonicWeb(client) => {
                let response = AuthServiceClient::clone(client)
                    .add_my_passwordless_link(bearer(AddMyPasswordlessLinkRequest {}))
                    .await?;
                std::hint::black_box(response.into_inner());
            }
            Caller::Reqwest(http, url) => {
                let response = http
                    .post(url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("HTTP {}", response.status());
                }
                let body = response.bytes().await?;
                let link: AddMyPasswordlessLinkResponse = serde_json::from_slice(&body)?;
                std::hint::black_box(link);
            }
            #[cfg(feature = "peer-zitadel")]
            Caller::Peer(client) => client.call().await?,
            Caller::PingPong(stream, request, response) => {
                let mut stream = stream.lock().await;
                let mut buffer = vec![0u8; (*request).max(*response)];
                stream.write_all(&buffer[..*request]).await?;
                stream.read_exact(&mut buffer[..*response]).await?;
            }
        }
        Ok(())
    }
}

fn bearer<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {TOKEN}")).expect("a valid header");
    request.metadata_mut().insert("authorization", value);
    request
}

#[cfg(feature = "peer-zitadel")]
async fn peer(url: &str) -> Result<Caller> {
    Ok(Caller::Peer(crate::peer::PeerClient::connect(url).await?))
}

#[cfg(not(feature = "peer-zitadel"))]
async fn peer(_url: &str) -> Result<Caller> {
    bail!("built without the peer-zitadel feature")
}
