//! Scripted faults: what the next N matching calls suffer.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use zitadel_passkey::{Code, Transport};

use crate::error::MockError;

/// A scripted fault for the next `times` calls that match its method and transport filters.
///
/// ```
/// use zitadel_passkey_mock::{Code, Fault};
/// let fault = Fault::error(Code::Unavailable, "MOCK-down", "Errors.Internal")
///     .times(2)
///     .method("AddMyPasswordlessLink");
/// # let _ = fault;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) times: u32,
    pub(crate) method: Option<String>,
    pub(crate) transport: Option<Transport>,
}

/// What a [`Fault`] does to a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this error instead of running the handler.
    Error(MockError),
    /// Wait this long, then handle the call normally.
    Delay(Duration),
    /// Close the connection before the handler runs (nothing changed on the server). Over
    /// HTTP/2 this ends every stream of the connection, as a crashed proxy would.
    DropBeforeHandler,
    /// Run the handler (state changes, e.g. a code is created), then close the connection
    /// without answering: the client cannot know the outcome. Over HTTP/2 this ends every
    /// stream of the connection.
    DropAfterHandler,
    /// Answer with this HTTP status and an HTML body, as a proxy in front of ZITADEL would.
    ProxyStatus(u16),
    /// Answer an OAuth endpoint (`DeviceAuthorization`, `Token`, `Revoke`) with this OAuth
    /// error instead of running it: `{"error", "error_description"}` with HTTP 401 for
    /// `invalid_client`, 500 for `server_error`, 503 for `temporarily_unavailable` and 400 for
    /// the others. Only ever applies to an OAuth endpoint, as [`FaultKind::Error`] only ever
    /// applies to an RPC.
    OAuthError {
        /// The OAuth error code, one of [`crate::oauth::ERROR_CODES`] (e.g. `slow_down`).
        error: String,
        /// The `error_description`.
        description: String,
    },
}

impl FaultKind {
    /// The name used in the journal and the admin API.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Error(_) => "error",
            FaultKind::Delay(_) => "delay",
            FaultKind::DropBeforeHandler => "drop_before_handler",
            FaultKind::DropAfterHandler => "drop_after_handler",
            FaultKind::ProxyStatus(_) => "proxy_status",
            FaultKind::OAuthError { .. } => "oauth_error",
        }
    }

    /// Whether this kind can apply to a call of `method`: the one rule for which faults reach
    /// which calls. A gRPC status ([`FaultKind::Error`]) only reaches an RPC and an OAuth error
    /// only an OAuth endpoint ([`crate::oauth::METHODS`]); the other kinds reach both.
    pub(crate) fn applies_to(&self, method: &str) -> bool {
        match self {
            FaultKind::Error(_) => !crate::oauth::is_method(method),
            FaultKind::OAuthError { .. } => crate::oauth::is_method(method),
            FaultKind::Delay(_)
            | FaultKind::DropBeforeHandler
            | FaultKind::DropAfterHandler
            | FaultKind::ProxyStatus(_) => true,
        }
    }
}

impl Fault {
    fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            times: 1,
            method: None,
            transport: None,
        }
    }

    /// Answer with gRPC `code`, ZITADEL error `id` (empty for none) and `message`. `code` should
    /// be an error code, not [`Code::Ok`]; the admin API refuses `0`.
    pub fn error(code: Code, id: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(FaultKind::Error(MockError::owned(code, id, message)))
    }

    /// Delay the call, then handle it normally.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay(delay))
    }

    /// Drop the connection before the handler runs.
    pub fn drop_before_handler() -> Self {
        Self::new(FaultKind::DropBeforeHandler)
    }

    /// Run the handler, then drop the connection without answering.
    pub fn drop_after_handler() -> Self {
        Self::new(FaultKind::DropAfterHandler)
    }

    /// Answer with an HTTP status (e.g. 503) from a "proxy", with no gRPC status.
    pub fn proxy_status(status: u16) -> Self {
        Self::new(FaultKind::ProxyStatus(status))
    }

    /// Answer an OAuth endpoint with the OAuth error `error` (e.g. `"slow_down"`,
    /// `"access_denied"`, `"invalid_grant"`) and this `error_description`, without running it.
    /// Applies only to `DeviceAuthorization`, `Token` and `Revoke`, whatever the filters say;
    /// narrow it with [`Fault::method`].
    pub fn oauth_error(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self::new(FaultKind::OAuthError {
            error: error.into(),
            description: description.into(),
        })
    }

    /// Apply to the next `n` matching calls (default 1).
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Only calls of this RPC (e.g. `AddMyPasswordlessLink`).
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Only calls over this transport.
    #[must_use]
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// What the fault does.
    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    pub(crate) fn matches(&self, method: &str, transport: Transport) -> bool {
        self.times > 0
            && self.kind.applies_to(method)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self.transport.is_none_or(|t| t == transport)
    }
}

/// Faults pushed and not used up yet, in order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: VecDeque<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.faults.push_back(fault);
    }

    /// Takes one use of the first fault matching the call, if any (a fault used up is removed).
    pub(crate) fn take(&mut self, method: &str, transport: Transport) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|f| f.matches(method, transport))?;
        let fault = self.faults.get_mut(index)?;
        fault.times -= 1;
        let taken = fault.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.faults.iter().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.faults.len()
    }
}

/// The admin API's JSON form of a fault (`POST /__mock/faults`): `kind` names the variant, and
/// each kind takes its own fields and the filters every kind has (`times`, `method`,
/// `transport`), nothing else, so a field of another kind or a typo is refused (400) instead of
/// being ignored.
///
/// ```json
/// {"kind": "error", "code": 14, "id": "MOCK-down", "message": "Errors.Internal", "times": 2}
/// {"kind": "delay", "millis": 1500, "method": "AddMyPasswordlessLink"}
/// {"kind": "drop_before_handler", "transport": "grpc-web"}
/// {"kind": "drop_after_handler"}
/// {"kind": "proxy_status", "status": 503}
/// {"kind": "oauth_error", "error": "slow_down", "method": "Token", "times": 3}
/// ```
#[derive(Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultSpec {
    /// [`Fault::error`]: `code` from 1 to 16; `id` (empty or missing: no details) and `message`
    /// default to empty.
    Error {
        code: i32,
        id: Option<String>,
        message: Option<String>,
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
    /// [`Fault::delay`] by `millis`.
    Delay {
        millis: u64,
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
    /// [`Fault::drop_before_handler`].
    DropBeforeHandler {
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
    /// [`Fault::drop_after_handler`].
    DropAfterHandler {
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
    /// [`Fault::proxy_status`] with `status` (default 503).
    ProxyStatus {
        status: Option<u16>,
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
    /// [`Fault::oauth_error`]: `error` one of [`crate::oauth::ERROR_CODES`]; `description`
    /// defaults to a sentence saying the error was scripted.
    #[serde(rename = "oauth_error")]
    OAuthError {
        error: String,
        description: Option<String>,
        times: Option<u32>,
        method: Option<String>,
        transport: Option<TransportName>,
    },
}

/// A transport filter by its name: `"grpc"`, `"grpc-web"` or `"json"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TransportName(Transport);

impl<'de> Deserialize<'de> for TransportName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map(TransportName).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown transport {name:?}: expected \"grpc\", \"grpc-web\" or \"json\""
            ))
        })
    }
}

impl FaultSpec {
    /// Parses the admin API's JSON; the error says what is wrong, for a 400 answer.
    pub(crate) fn from_json(value: serde_json::Value) -> Result<Fault, String> {
        let spec: FaultSpec =
            serde_json::from_value(value).map_err(|e| format!("invalid fault: {e}"))?;
        spec.into_fault()
    }

    fn into_fault(self) -> Result<Fault, String> {
        let (mut fault, times, method, transport) = match self {
            FaultSpec::Error {
                code,
                id,
                message,
                times,
                method,
                transport,
            } => {
                if !(1..=16).contains(&code) {
                    return Err(format!(
                        "an error fault's \"code\" is a gRPC error code from 1 to 16, not {code}"
                    ));
                }
                let fault = Fault::error(
                    Code::from_i32(code),
                    id.unwrap_or_default(),
                    message.unwrap_or_default(),
                );
                (fault, times, method, transport)
            }
            FaultSpec::Delay {
                millis,
                times,
                method,
                transport,
            } => (
                Fault::delay(Duration::from_millis(millis)),
                times,
                method,
                transport,
            ),
            FaultSpec::DropBeforeHandler {
                times,
                method,
                transport,
            } => (Fault::drop_before_handler(), times, method, transport),
            FaultSpec::DropAfterHandler {
                times,
                method,
                transport,
            } => (Fault::drop_after_handler(), times, method, transport),
            FaultSpec::ProxyStatus {
                status,
                times,
                method,
                transport,
            } => (
                Fault::proxy_status(status.unwrap_or(503)),
                times,
                method,
                transport,
            ),
            FaultSpec::OAuthError {
                error,
                description,
                times,
                method,
                transport,
            } => {
                if !crate::oauth::ERROR_CODES.contains(&error.as_str()) {
                    return Err(format!(
                        "unknown OAuth error {error:?}: an oauth_error fault's \"error\" is one of {}",
                        crate::oauth::ERROR_CODES.join(", ")
                    ));
                }
                if transport.is_some_and(|TransportName(t)| t != Transport::Json) {
                    return Err(
                        "the OAuth endpoints are plain HTTP: an oauth_error fault's \"transport\" can only be \"json\""
                            .to_owned(),
                    );
                }
                let description = description
                    .unwrap_or_else(|| format!("{error} (a fault scripted in the mock)"));
                (
                    Fault::oauth_error(error, description),
                    times,
                    method,
                    transport,
                )
            }
        };
        // A fault whose method it can never apply to would wait forever, unnoticed.
        if let Some(method) = method.as_deref().filter(|m| !fault.kind.applies_to(m)) {
            return Err(match fault.kind {
                FaultKind::OAuthError { .. } => format!(
                    "an oauth_error fault applies only to the OAuth endpoints ({}), not to {method:?}",
                    crate::oauth::METHODS.join(", ")
                ),
                _ => format!(
                    "{method} is an OAuth endpoint, which answers no gRPC status: use \"kind\": \"oauth_error\""
                ),
            });
        }
        if let Some(times) = times {
            fault = fault.times(times);
        }
        if let Some(method) = method {
            fault = fault.method(method);
        }
        if let Some(TransportName(transport)) = transport {
            fault = fault.transport(transport);
        }
        Ok(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Fault, String> {
        FaultSpec::from_json(value)
    }

    #[test]
    fn every_documented_fault_is_accepted() {
        assert_eq!(
            parse(
                json!({"kind": "error", "code": 14, "id": "MOCK-down", "message": "Errors.Internal", "times": 2})
            ),
            Ok(Fault::error(Code::Unavailable, "MOCK-down", "Errors.Internal").times(2))
        );
        assert_eq!(
            parse(json!({"kind": "error", "code": 8})),
            Ok(Fault::error(Code::ResourceExhausted, "", ""))
        );
        assert_eq!(
            parse(json!({"kind": "delay", "millis": 1500, "method": "AddMyPasswordlessLink"})),
            Ok(Fault::delay(Duration::from_millis(1500)).method("AddMyPasswordlessLink"))
        );
        assert_eq!(
            parse(json!({"kind": "drop_before_handler", "transport": "grpc-web"})),
            Ok(Fault::drop_before_handler().transport(Transport::GrpcWeb))
        );
        assert_eq!(
            parse(json!({"kind": "drop_after_handler"})),
            Ok(Fault::drop_after_handler())
        );
        assert_eq!(
            parse(json!({"kind": "proxy_status", "status": 502})),
            Ok(Fault::proxy_status(502))
        );
        assert_eq!(
            parse(json!({"kind": "proxy_status", "times": 5, "transport": null})),
            Ok(Fault::proxy_status(503).times(5))
        );
        assert_eq!(
            parse(
                json!({"kind": "error", "code": 7, "id": null, "message": null, "method": null, "transport": "json"})
            ),
            Ok(Fault::error(Code::PermissionDenied, "", "").transport(Transport::Json))
        );
    }

    #[test]
    fn a_field_of_another_kind_is_refused() {
        for (spec, field) in [
            (json!({"kind": "delay", "millis": 10, "code": 14}), "code"),
            (json!({"kind": "error", "code": 14, "millis": 10}), "millis"),
            (
                json!({"kind": "error", "code": 14, "status": 503}),
                "status",
            ),
            (
                json!({"kind": "proxy_status", "message": "down"}),
                "message",
            ),
            (
                json!({"kind": "drop_before_handler", "millis": 10}),
                "millis",
            ),
            (json!({"kind": "drop_after_handler", "id": "MOCK-x"}), "id"),
            (json!({"kind": "delay", "millis": 10, "time": 2}), "time"),
        ] {
            let error = parse(spec.clone()).expect_err("refused");
            assert!(
                error.contains(&format!("unknown field `{field}`")),
                "{spec}: {error}"
            );
        }
    }

    #[test]
    fn what_a_fault_needs() {
        let missing = |spec: serde_json::Value, what: &str| {
            let error = parse(spec.clone()).expect_err("refused");
            assert!(error.contains(what), "{spec}: {error}");
        };
        missing(json!({"kind": "error"}), "missing field `code`");
        missing(json!({"kind": "delay"}), "missing field `millis`");
        missing(json!({"millis": 10}), "missing field `kind`");
        missing(json!({"kind": "nonsense"}), "unknown variant `nonsense`");
        missing(json!({"kind": "error", "code": 0}), "1 to 16, not 0");
        missing(json!({"kind": "error", "code": 17}), "1 to 16, not 17");
        missing(
            json!({"kind": "delay", "millis": 1, "transport": "http"}),
            "unknown transport \"http\"",
        );
        missing(json!(["error"]), "invalid fault");
    }

    #[test]
    fn oauth_errors_only_for_the_oauth_endpoints() {
        assert_eq!(
            parse(
                json!({"kind": "oauth_error", "error": "slow_down", "method": "Token", "times": 3})
            ),
            Ok(
                Fault::oauth_error("slow_down", "slow_down (a fault scripted in the mock)")
                    .method("Token")
                    .times(3)
            )
        );
        assert_eq!(
            parse(
                json!({"kind": "oauth_error", "error": "server_error", "description": "down", "transport": "json"})
            ),
            Ok(Fault::oauth_error("server_error", "down").transport(Transport::Json))
        );
        let refused = |spec: serde_json::Value, what: &str| {
            let error = parse(spec.clone()).expect_err("refused");
            assert!(error.contains(what), "{spec}: {error}");
        };
        refused(
            json!({"kind": "oauth_error", "error": "nope"}),
            "unknown OAuth error \"nope\"",
        );
        refused(
            json!({"kind": "oauth_error", "error": "slow_down", "method": "AddMyPasswordlessLink"}),
            "only to the OAuth endpoints",
        );
        refused(
            json!({"kind": "oauth_error", "error": "slow_down", "transport": "grpc"}),
            "can only be \"json\"",
        );
        refused(
            json!({"kind": "error", "code": 14, "method": "Token"}),
            "use \"kind\": \"oauth_error\"",
        );
        refused(
            json!({"kind": "oauth_error", "error": "slow_down", "code": 3}),
            "unknown field `code`",
        );
        // The one rule: which kinds reach which calls, whatever the filters.
        let oauth = Fault::oauth_error("slow_down", "");
        assert!(oauth.matches("Token", Transport::Json));
        assert!(!oauth.matches("AddMyPasswordlessLink", Transport::Json));
        let status = Fault::error(Code::Unavailable, "", "");
        assert!(!status.matches("Token", Transport::Json));
        assert!(status.matches("AddMyPasswordlessLink", Transport::Json));
        let delay = Fault::delay(Duration::from_millis(1));
        assert!(delay.matches("Revoke", Transport::Json));
        assert!(delay.matches("ListMyPasswordless", Transport::Grpc));
    }
}
