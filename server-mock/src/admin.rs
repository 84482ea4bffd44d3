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

async fn push_fault(State(s): State<Arc<Shared>>, Json(spec): Json<FaultSpec>) -> Response {
    match spec.into_fault() {
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

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}
