//! What a scenario runs with: the transport, the endpoint and tokens, and the mock when there is one.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Result, anyhow, bail};
use zitadel_passkey::{Client, ClientBuilder, Transport};
use zitadel_passkey_mock::{JournalEntry, MockServer};

/// Token of user A (strict mock).
pub const TOKEN_A: &str = "contract-token-a";
/// User A.
pub const USER_A: &str = "218000000000000001";
/// User A's organisation.
pub const ORG_A: &str = "318000000000000001";
/// Token of user B, in another organisation.
pub const TOKEN_B: &str = "contract-token-b";
/// User B.
pub const USER_B: &str = "218000000000000002";
/// User B's organisation.
pub const ORG_B: &str = "318000000000000002";
/// A token the mock maps to no user (FAILED_PRECONDITION `COMMAND-GVfg3`).
pub const TOKEN_NO_USER: &str = "contract-token-without-user";
/// A well-formed token the strict mock does not know.
pub const TOKEN_UNKNOWN: &str = "contract-token-unknown";
/// An organisation ID no instance has.
pub const ORG_UNKNOWN: &str = "999999999999999999";
/// The mock's fixed clock in the equivalence scenario: 2026-01-02T03:04:05Z.
pub const FIXED_CLOCK_SECS: u64 = 1_767_323_045;

/// A scenario that does not apply: not run, with this reason.
#[derive(Debug)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// Ends a scenario as skipped.
pub fn skip<T>(reason: impl Into<String>) -> Result<T> {
    Err(Skip(reason.into()).into())
}

/// Whether this is a CI run (`CI=true`): missing tools fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A missing tool: a skip locally, a failure under `CI=true`.
pub fn missing_tool<T>(reason: impl Into<String>) -> Result<T> {
    let reason = reason.into();
    if in_ci() {
        bail!("CI=true but {reason}")
    }
    skip(reason)
}

/// Where the calls go.
#[derive(Clone)]
pub enum Target {
    /// An in-process mock (strict, users A, B and the user-less token).
    Mock(Arc<MockServer>),
    /// A real ZITADEL (`ZITADEL_URL`, `ZITADEL_TOKEN`).
    Live {
        /// The instance's URL.
        url: String,
        /// A user's token.
        token: String,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Mock(mock) => f.debug_tuple("Mock").field(&mock.uri()).finish(),
            Target::Live { url, .. } => f.debug_struct("Live").field("url", url).finish(),
        }
    }
}

/// The context of one scenario over one transport.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The transport under test.
    pub transport: Transport,
    /// Where the calls go.
    pub target: Target,
    /// The seed the mocks are started with (`--seed`).
    pub seed: u64,
}

impl Ctx {
    /// The endpoint of every transport.
    pub fn endpoint(&self) -> String {
        match &self.target {
            Target::Mock(mock) => mock.uri(),
            Target::Live { url, .. } => url.clone(),
        }
    }

    /// A valid token of "user A": the mock's, or `ZITADEL_TOKEN`.
    pub fn token(&self) -> &str {
        match &self.target {
            Target::Mock(_) => TOKEN_A,
            Target::Live { token, .. } => token,
        }
    }

    /// The mock, for scenarios that need its admin API.
    pub fn mock(&self) -> Result<&MockServer> {
        match &self.target {
            Target::Mock(mock) => Ok(mock),
            Target::Live { .. } => Err(anyhow!("this scenario needs the mock")),
        }
    }

    /// Whether this runs against a real instance.
    pub fn is_live(&self) -> bool {
        matches!(self.target, Target::Live { .. })
    }

    /// A client builder for this transport and endpoint with user A's token and a 10 s deadline.
    pub fn builder(&self) -> ClientBuilder {
        builder(&self.endpoint(), self.transport).token(self.token())
    }

    /// A client for this transport with user A's token.
    pub fn client(&self) -> Result<Client> {
        Ok(self.builder().build()?)
    }

    /// A client for this transport with `token`.
    pub fn client_with_token(&self, token: &str) -> Result<Client> {
        Ok(builder(&self.endpoint(), self.transport)
            .token(token)
            .build()?)
    }

    /// The mock's journal entries of `method`.
    pub fn journal(&self, method: &str) -> Result<Vec<JournalEntry>> {
        Ok(self
            .mock()?
            .journal()
            .into_iter()
            .filter(|e| e.method == method)
            .collect())
    }
}

/// A client builder for `endpoint` over `transport` with a 10 s deadline (no token).
pub fn builder(endpoint: &str, transport: Transport) -> ClientBuilder {
    Client::builder(endpoint)
        .transport(transport)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
}

/// The standard mock: strict, users A and B and the user-less token, seeded.
pub async fn standard_mock(seed: u64) -> Result<MockServer> {
    Ok(standard_builder(seed).start().await?)
}

/// The standard mock's builder, to change before starting.
pub fn standard_builder(seed: u64) -> zitadel_passkey_mock::MockServerBuilder {
    MockServer::builder()
        .strict(true)
        .seed(seed)
        .user(TOKEN_A, USER_A, ORG_A)
        .user(TOKEN_B, USER_B, ORG_B)
        .user(TOKEN_NO_USER, "", ORG_A)
}

/// The mock's fixed clock for reproducible answers.
pub fn fixed_clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(FIXED_CLOCK_SECS)
}

/// The mock's journal transport name for an SDK transport.
pub fn journal_transport(transport: Transport) -> &'static str {
    transport.as_str()
}

/// The HTTP version the SDK uses for `transport`.
pub fn sdk_http_version(transport: Transport) -> &'static str {
    match transport {
        Transport::Grpc => "HTTP/2",
        _ => "HTTP/1.1",
    }
}

/// Fails with `message` unless `condition` holds.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr $(,)?) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            anyhow::bail!(
                "{} != {}: {:?} vs {:?}",
                stringify!($left),
                stringify!($right),
                left,
                right
            );
        }
    }};
    ($left:expr, $right:expr, $($context:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            anyhow::bail!(
                "{}: {:?} vs {:?}",
                format!($($context)+),
                left,
                right
            );
        }
    }};
}
