//! What the SDK's tests share beyond `zitadel-passkey-test-support` (re-exported here): the
//! test token and a real instance's response, a retry sleep that only records, and clients and
//! wiremock servers set up the way most tests want them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::ObjectDetails;
use zitadel_passkey::wkt::{Duration as PbDuration, Timestamp};
use zitadel_passkey::{BoxFuture, Client, RetryPolicy, Sleep, Transport};
pub use zitadel_passkey_test_support::*;

pub const TOKEN: &str = "s3cr3t-t0ken-never-logged";
pub const CODE: &str = "kFfsO8OizZPS";
pub const LINK: &str = "http://localhost/ui/login/login/passwordless/init?userID=182156264229306625&orgID=165947650742997249&codeID=200949504189388947&code=kFfsO8OizZPS";

/// The response a real instance sends.
pub fn link_response() -> AddMyPasswordlessLinkResponse {
    AddMyPasswordlessLinkResponse {
        details: Some(ObjectDetails {
            sequence: 2,
            creation_date: Some(Timestamp::new(1_683_880_215, 120_000_000).unwrap()),
            change_date: None,
            resource_owner: "165947650742997249".into(),
        }),
        link: LINK.into(),
        expiration: Some(PbDuration::from_secs(3600).unwrap()),
    }
}

/// A [`Sleep`] that returns at once and records what it was asked to wait; runs a hook first.
#[derive(Clone, Default)]
pub struct RecordingSleep {
    pub waits: Arc<Mutex<Vec<Duration>>>,
    pub hook: Option<Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>>,
}

impl std::fmt::Debug for RecordingSleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSleep").finish()
    }
}

impl RecordingSleep {
    /// Runs `hook` (once per wait) before returning.
    pub fn with_hook(
        hook: impl Fn() -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> RecordingSleep {
        RecordingSleep {
            waits: Arc::default(),
            hook: Some(Arc::new(hook)),
        }
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.waits.lock().unwrap().push(duration);
        match &self.hook {
            Some(hook) => hook(),
            None => Box::pin(async {}),
        }
    }
}

/// A client of `transport` with the test token, a 5 s deadline, and retries whose sleeps are
/// only recorded, so a test never waits.
pub fn test_client(url: &str, transport: Transport) -> Client {
    Client::builder(url)
        .transport(transport)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::default().with_sleep(RecordingSleep::default()))
        .build()
        .unwrap()
}

/// A wiremock server answering exactly one `POST path` with `template` (it fails the test when
/// it sees more: no retry happened).
pub async fn answering_once(
    path: &str,
    template: wiremock::ResponseTemplate,
) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(path))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    server
}
