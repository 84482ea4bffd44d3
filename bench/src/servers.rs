//! The baseline servers: a minimal tonic server, a minimal tonic-web server and a minimal axum
//! JSON server, each reading the request and answering the mock's own answer (fetched once at
//! start) with no mock logic; and a TCP ping-pong server, the floor. Each runs in its own
//! process on the default multi-threaded tokio runtime, like the mock, with TCP_NODELAY on,
//! like the mock.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};
use zitadel_passkey::proto::zitadel::auth::v1::auth_service_client::AuthServiceClient;
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::proto::zitadel::auth::v1::auth_service_server::{
    AuthService, AuthServiceServer,
};

use crate::wire::{REST_PATH, TOKEN};

/// Which baseline server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// tonic's server with the generated service (gRPC over h2c).
    Tonic,
    /// tonic's server behind tonic-web's layer (gRPC-web over HTTP/1.1).
    TonicWeb,
    /// axum answering the REST path with fixed JSON.
    Axum,
    /// Reads `--request` bytes, writes `--response` bytes, on every connection.
    PingPong,
}

/// Binds, prints `listening on http://ADDR` (as the mock does) and serves until killed.
pub async fn serve(kind: Kind, like: Option<&str>, sizes: (usize, usize)) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    match kind {
        Kind::Tonic | Kind::TonicWeb => {
            let answer = grpc_answer(like.context("--like URL is needed")?).await?;
            announce(address);
            serve_tonic(listener, answer, kind == Kind::TonicWeb).await
        }
        Kind::Axum => {
            let answer = json_answer(like.context("--like URL is needed")?).await?;
            announce(address);
            serve_axum(listener, answer).await
        }
        Kind::PingPong => {
            announce(address);
            serve_ping_pong(listener, sizes).await
        }
    }
}

fn announce(address: SocketAddr) {
    println!("listening on http://{address}");
}

/// The mock's answer over gRPC, to repeat.
async fn grpc_answer(mock: &str) -> Result<AddMyPasswordlessLinkResponse> {
    let channel = tonic::transport::Endpoint::from_shared(mock.to_owned())?
        .connect()
        .await?;
    let mut client = AuthServiceClient::new(channel);
    let mut request = Request::new(AddMyPasswordlessLinkRequest {});
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse()?);
    Ok(client.add_my_passwordless_link(request).await?.into_inner())
}

/// The mock's answer over REST, byte for byte, to repeat.
async fn json_answer(mock: &str) -> Result<Bytes> {
    let response = reqwest::Client::new()
        .post(format!("{}{REST_PATH}", mock.trim_end_matches('/')))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?
        .error_for_status()?;
    Ok(response.bytes().await?)
}

struct Fixed(AddMyPasswordlessLinkResponse);

#[tonic::async_trait]
impl AuthService for Fixed {
    async fn list_my_passwordless(
        &self,
        _: Request<ListMyPasswordlessRequest>,
    ) -> Result<Response<ListMyPasswordlessResponse>, Status> {
        Err(Status::unimplemented("not in the benchmark"))
    }

    async fn add_my_passwordless_link(
        &self,
        _: Request<AddMyPasswordlessLinkRequest>,
    ) -> Result<Response<AddMyPasswordlessLinkResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }

    async fn send_my_passwordless_link(
        &self,
        _: Request<SendMyPasswordlessLinkRequest>,
    ) -> Result<Response<SendMyPasswordlessLinkResponse>, Status> {
        Err(Status::unimplemented("not in the benchmark"))
    }

    async fn remove_my_passwordless(
        &self,
        _: Request<RemoveMyPasswordlessRequest>,
    ) -> Result<Response<RemoveMyPasswordlessResponse>, Status> {
        Err(Status::unimplemented("not in the benchmark"))
    }
}

async fn serve_tonic(
    listener: TcpListener,
    answer: AddMyPasswordlessLinkResponse,
    web: bool,
) -> Result<()> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let service = AuthServiceServer::new(Fixed(answer));
    let mut server = tonic::transport::Server::builder();
    if web {
        server
            .accept_http1(true)
            .layer(tonic_web::GrpcWebLayer::new())
            .add_service(service)
            .serve_with_incoming(incoming)
            .await?;
    } else {
        server
            .add_service(service)
            .serve_with_incoming(incoming)
            .await?;
    }
    Ok(())
}

async fn serve_axum(listener: TcpListener, answer: Bytes) -> Result<()> {
    use axum::serve::ListenerExt;
    let answer = Arc::new(answer);
    let app = axum::Router::new().route(
        REST_PATH,
        // The body is read, as a JSON `POST` handler reads it and as tonic's baselines decode
        // their requests; the answer is fixed.
        axum::routing::post(move |_request: Bytes| {
            let answer = answer.clone();
            async move {
                (
                    [("content-type", "application/json")],
                    Bytes::clone(&answer),
                )
            }
        }),
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn serve_ping_pong(listener: TcpListener, (request, response): (usize, usize)) -> Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buffer = vec![0u8; request.max(response)];
            while stream.read_exact(&mut buffer[..request]).await.is_ok() {
                if stream.write_all(&buffer[..response]).await.is_err() {
                    break;
                }
            }
        });
    }
}
