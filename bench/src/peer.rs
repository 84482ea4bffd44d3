//! The community `zitadel` crate's auth client, set up the way its documentation shows.

use anyhow::{Result, anyhow};
use zitadel::api::clients::ClientBuilder;
use zitadel::api::interceptors::AccessTokenInterceptor;
use zitadel::api::zitadel::auth::v1::AddMyPasswordlessLinkRequest;
use zitadel::api::zitadel::auth::v1::auth_service_client::AuthServiceClient;

use crate::wire::TOKEN;

type Service = tonic::service::interceptor::InterceptedService<
    tonic::transport::Channel,
    AccessTokenInterceptor,
>;

pub struct PeerClient(AuthServiceClient<Service>);

impl PeerClient {
    pub async fn connect(url: &str) -> Result<PeerClient> {
        let client = ClientBuilder::new(url)
            .with_access_token(TOKEN)
            .build_auth_client()
            .await
            .map_err(|e| anyhow!("zitadel crate: {e}"))?;
        Ok(PeerClient(client))
    }

    pub async fn call(&self) -> Result<()> {
        let response = self
            .0
            .clone()
            .add_my_passwordless_link(AddMyPasswordlessLinkRequest {})
            .await?;
        std::hint::black_box(response.into_inner());
        Ok(())
    }
}
