//! The admin API under `/__mock` (JSON). See the crate docs for the list of endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use zitadel_passkey::Transport;

use crate::fault::FaultSpec;
use crate::journal::JournalEntry;
use crate::oauth::{DeviceError, PendingDevice};
use crate::state::{LiveCode, OutboxMessage, Shared, UserInfo};

/// The reserved path prefix of the admin API.
pub const ADMIN_PREFIX: &str = "/__mock";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    token: String,
    user_id: String,
    org_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPasskey {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approve {
    user_code: String,
    user_id: Option<String>,
    org_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deny {
    user_code: String,
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// The admin routes; the caller nests them under [`ADMIN_PREFIX`] and supplies the state.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal))
        .route("/users", get(users).post(add_user))
        .route("/users/{user_id}/passkeys", post(add_passkey))
        .route("/codes", get(codes))
        .route("/outbox", get(outbox))
        .route(
            "/faults",
            post(push_fault).get(pending_faults).delete(clear_faults),
        )
        .route("/clock/advance", post(advance_clock))
        .route("/device", get(devices))
        .route("/device/approve", post(approve_device))
        .route("/device/deny", post(deny_device))
        .route("/reset", post(reset))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn journal(State(s): State<Arc<Shared>>) -> Json<Vec<JournalEntry>> {
    Json(s.journal())
}

async fn users(State(s): State<Arc<Shared>>) -> Json<Vec<UserInfo>> {
    Json(s.users())
}

async fn add_user(State(s): State<Arc<Shared>>, Json(user): Json<NewUser>) -> StatusCode {
    s.add_user(&user.token, &user.user_id, &user.org_id);
    StatusCode::CREATED
}

async fn add_passkey(
    State(s): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    Json(passkey): Json<NewPasskey>,
) -> (StatusCode, Json<serde_json::Value>) {
    let id = s.add_passkey(&user_id, &passkey.name);
    (StatusCode::CREATED, Json(json!({ "id": id })))
}

async fn codes(State(s): State<Arc<Shared>>) -> Json<Vec<LiveCode>> {
    Json(s.live_codes())
}

async fn outbox(State(s): State<Arc<Shared>>) -> Json<Vec<OutboxMessage>> {
    Json(s.outbox())
}

/// Parsed by [`FaultSpec::from_json`] rather than axum's `Json<FaultSpec>`, so that a fault that
/// is valid JSON but not a valid fault gets a 400 that says why (axum would answer 422).
async fn push_fault(State(s): State<Arc<Shared>>, Json(spec): Json<serde_json::Value>) -> Response {
    match FaultSpec::from_json(spec) {
        Ok(fault) => {
            s.push_fault(fault);
            StatusCode::CREATED.into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn pending_faults(State(s): State<Arc<Shared>>) -> Json<Vec<serde_json::Value>> {
    let faults = s
        .faults()
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind().name(),
                "times": f.times,
                "method": f.method,
                "transport": f.transport.map(Transport::as_str),
            })
        })
        .collect();
    Json(faults)
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> StatusCode {
    s.clear_faults();
    StatusCode::NO_CONTENT
}

async fn advance_clock(State(s): State<Arc<Shared>>, Json(advance): Json<Advance>) -> StatusCode {
    s.clock.advance(Duration::from_secs(advance.seconds));
    StatusCode::NO_CONTENT
}

async fn devices(State(s): State<Arc<Shared>>) -> Json<Vec<PendingDevice>> {
    Json(s.pending_devices())
}

/// A decided authorization (200, with who it was approved for), or why not: 404 for a user
/// code no live authorization has, 409 for one decided already, 400 for an empty user ID.
fn decided(result: Result<PendingDevice, DeviceError>) -> Response {
    match result {
        Ok(device) => Json(device).into_response(),
        Err(error) => {
            let status = match error {
                DeviceError::UnknownCode => StatusCode::NOT_FOUND,
                DeviceError::AlreadyDecided => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, Json(json!({ "error": error.to_string() }))).into_response()
        }
    }
}

async fn approve_device(State(s): State<Arc<Shared>>, Json(approve): Json<Approve>) -> Response {
    decided(s.approve_device(
        &approve.user_code,
        approve.user_id.as_deref(),
        approve.org_id.as_deref(),
    ))
}

async fn deny_device(State(s): State<Arc<Shared>>, Json(deny): Json<Deny>) -> Response {
    decided(s.deny_device(&deny.user_code))
}

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::state::Config;

    async fn post_fault(body: &'static str) -> (StatusCode, serde_json::Value) {
        let shared = Arc::new(Shared::new(Config {
            strict: false,
            seed: 1,
            code_ttl: Duration::from_secs(60),
            public_origin: None,
            login_shortcut: false,
            fixed_clock: None,
            users: Vec::new(),
            token_ttl: Duration::from_secs(60),
            client_ids: Vec::new(),
            device_interval: Duration::from_secs(5),
        }));
        let request = http::Request::post("/__mock/faults")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body))
            .expect("request");
        let response = crate::rest::router(shared)
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_wrong_field_for_the_kind_is_a_400_that_names_it() {
        let (status, body) = post_fault(r#"{"kind":"delay","millis":10,"code":14}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains("unknown field `code`"), "{body}");
        let (status, _) = post_fault(r#"{"kind":"delay","millis":"soon"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = post_fault(r#"{"kind":"delay","millis":10}"#).await;
        assert_eq!(
            (status, body),
            (StatusCode::CREATED, serde_json::Value::Null)
        );
    }
}
