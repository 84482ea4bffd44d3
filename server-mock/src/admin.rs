//! The admin API under `/__mock` (JSON). See the crate docs for the list of endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::fault::FaultSpec;
use crate::state::Shared;

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

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let s = shared;
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/journal", {
            let s = s.clone();
            get(move || async move { Json(s.journal()) })
        })
        .route(
            "/users",
            get({
                let s = s.clone();
                move || async move { Json(s.users()) }
            })
            .post({
                let s = s.clone();
                move |Json(user): Json<NewUser>| async move {
                    s.add_user(&user.token, &user.user_id, &user.org_id);
                    StatusCode::CREATED
                }
            }),
        )
        .route("/users/{user_id}/passkeys", {
            let s = s.clone();
            post(
                move |Path(user_id): Path<String>, Json(passkey): Json<NewPasskey>| async move {
                    let id = s.add_passkey(&user_id, &passkey.name);
                    (StatusCode::CREATED, Json(json!({ "id": id })))
                },
            )
        })
        .route("/codes", {
            let s = s.clone();
            get(move || async move { Json(s.live_codes()) })
        })
        .route("/outbox", {
            let s = s.clone();
            get(move || async move { Json(s.outbox()) })
        })
        .route("/faults", {
            let s2 = s.clone();
            post(move |Json(spec): Json<FaultSpec>| async move {
                match spec.into_fault() {
                    Ok(fault) => {
                        s2.push_fault(fault);
                        StatusCode::CREATED.into_response()
                    }
                    Err(message) => bad_request(message),
                }
            })
            .get({
                let s = s.clone();
                move || async move {
                    let faults: Vec<_> = s
                        .faults()
                        .iter()
                        .map(|f| {
                            json!({
                                "kind": f.kind().name(),
                                "times": f.times,
                                "method": f.method,
                                "transport": f.transport,
                            })
                        })
                        .collect();
                    Json(faults)
                }
            })
            .delete({
                let s = s.clone();
                move || async move {
                    s.clear_faults();
                    StatusCode::NO_CONTENT
                }
            })
        })
        .route("/clock/advance", {
            let s = s.clone();
            post(move |Json(advance): Json<Advance>| async move {
                s.clock.advance(Duration::from_secs(advance.seconds));
                StatusCode::NO_CONTENT
            })
        })
        .route("/reset", {
            let s = s.clone();
            post(move || async move {
                s.reset();
                StatusCode::NO_CONTENT
            })
        })
}
