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

/// The admin API's JSON form of a fault.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    kind: String,
    #[serde(default)]
    code: Option<i32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    millis: Option<u64>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, deserialize_with = "transport_by_name")]
    transport: Option<Transport>,
}

/// A transport filter by its name (`"grpc"`, `"grpc-web"` or `"json"`; `null` for any).
fn transport_by_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Transport>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(name) => name.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown transport {name:?}: expected \"grpc\", \"grpc-web\" or \"json\""
            ))
        }),
    }
}

impl FaultSpec {
    pub(crate) fn into_fault(self) -> Result<Fault, String> {
        let mut fault = match self.kind.as_str() {
            "error" => {
                let code = self.code.ok_or("an error fault needs \"code\"")?;
                if !(1..=16).contains(&code) {
                    return Err(format!(
                        "an error fault's \"code\" is a gRPC error code from 1 to 16, not {code}"
                    ));
                }
                Fault::error(
                    Code::from_i32(code),
                    self.id.unwrap_or_default(),
                    self.message.unwrap_or_default(),
                )
            }
            "delay" => Fault::delay(Duration::from_millis(
                self.millis.ok_or("a delay fault needs \"millis\"")?,
            )),
            "drop_before_handler" => Fault::drop_before_handler(),
            "drop_after_handler" => Fault::drop_after_handler(),
            "proxy_status" => Fault::proxy_status(self.status.unwrap_or(503)),
            other => return Err(format!("unknown fault kind {other:?}")),
        };
        if let Some(times) = self.times {
            fault = fault.times(times);
        }
        if let Some(method) = self.method {
            fault = fault.method(method);
        }
        if let Some(transport) = self.transport {
            fault = fault.transport(transport);
        }
        Ok(fault)
    }
}
