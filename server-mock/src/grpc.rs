//! The tonic service: gRPC, and gRPC-web through tonic-web's layer.

use std::sync::Arc;

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

/// The tonic server with our message-size limit.
pub(crate) fn server(shared: Arc<Shared>) -> AuthServiceServer<GrpcService> {
    AuthServiceServer::new(GrpcService { shared })
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(4 * 1024 * 1024)
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

#[tonic::async_trait]
impl AuthService for GrpcService {
    async fn list_my_passwordless(
        &self,
        request: Request<ListMyPasswordlessRequest>,
    ) -> Result<Response<ListMyPasswordlessResponse>, Status> {
        self.shared
            .list_my_passwordless(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn add_my_passwordless_link(
        &self,
        request: Request<AddMyPasswordlessLinkRequest>,
    ) -> Result<Response<AddMyPasswordlessLinkResponse>, Status> {
        self.shared
            .add_my_passwordless_link(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn send_my_passwordless_link(
        &self,
        request: Request<SendMyPasswordlessLinkRequest>,
    ) -> Result<Response<SendMyPasswordlessLinkResponse>, Status> {
        self.shared
            .send_my_passwordless_link(info(&request), caller(&request))
            .map(Response::new)
            .map_err(|e| e.to_status())
    }

    async fn remove_my_passwordless(
        &self,
        request: Request<RemoveMyPasswordlessRequest>,
    ) -> Result<Response<RemoveMyPasswordlessResponse>, Status> {
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
