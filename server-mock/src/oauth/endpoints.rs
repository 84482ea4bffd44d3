//! The OAuth endpoints: discovery, and the three `POST`s (device authorization, token,
//! revocation), each running the checks of the module's table in its order.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::devices::Decision;
use super::error::{OAuthError, json_document, json_response, no_store, outcome};
use super::form::{Form, is_form};
use super::tokens::{Issued, RefreshError};
use super::{
    API_AUDIENCE_SCOPE, DEVICE_AUTHORIZATION_PATH, DEVICE_CODE_GRANT, DEVICE_CODE_TTL,
    DEVICE_PAGE_PATH, OFFLINE_ACCESS_SCOPE, REFRESH_TOKEN_GRANT, REVOKE_PATH, TOKEN_PATH,
};
use crate::behaviour::{CallInfo, Origin};
use crate::state::Shared;

const MISSING_CLIENT: OAuthError = OAuthError::fixed(
    "invalid_client",
    "client_id is missing: a client must name itself",
);
const UNKNOWN_CLIENT: OAuthError = OAuthError::fixed(
    "invalid_client",
    "the client is not known (the mock is strict: start it with --client-id for this client)",
);
const UNSUPPORTED_GRANT: OAuthError = OAuthError::fixed(
    "unsupported_grant_type",
    "grant_type must be urn:ietf:params:oauth:grant-type:device_code or refresh_token",
);
const UNKNOWN_DEVICE_CODE: OAuthError = OAuthError::fixed(
    "invalid_grant",
    "the device code is unknown, was already exchanged, or belongs to another client",
);
const EXPIRED: OAuthError = OAuthError::fixed(
    "expired_token",
    "the device code has expired: start a new device authorization",
);
const DENIED: OAuthError = OAuthError::fixed(
    "access_denied",
    "the person denied the device authorization",
);
const SLOW_DOWN: OAuthError = OAuthError::fixed(
    "slow_down",
    "polled sooner than the interval: wait 5 seconds more between polls",
);
const PENDING: OAuthError = OAuthError::fixed(
    "authorization_pending",
    "the person has not allowed or denied the device authorization yet",
);
const INVALID_REFRESH: OAuthError = OAuthError::fixed(
    "invalid_grant",
    "the refresh token is unknown, expired, revoked, already used, or belongs to another client",
);
const INVALID_SCOPE: OAuthError = OAuthError::fixed(
    "invalid_scope",
    "the scope asks for more than the sign-in was granted",
);

/// `GET /.well-known/openid-configuration`: where the endpoints are, under the issuer (the
/// origin the request came in on, or the public origin).
pub(crate) async fn discovery(request: Request) -> Response {
    let issuer = issuer(request.extensions().get::<Origin>());
    let body = json!({
        "issuer": issuer,
        "device_authorization_endpoint": format!("{issuer}{DEVICE_AUTHORIZATION_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "grant_types_supported": [DEVICE_CODE_GRANT, REFRESH_TOKEN_GRANT],
        "scopes_supported": ["openid", "profile", "email", OFFLINE_ACCESS_SCOPE, API_AUDIENCE_SCOPE],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    });
    json_document(&body)
}

/// `POST /oauth/v2/device_authorization`.
pub(crate) async fn device_authorization(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Response {
    call(&shared, request, |shared, form, origin| {
        let client_id = client(shared, form)?;
        let scopes = scopes(form.get("scope"));
        let now = shared.clock.now();
        let interval = shared.config.device_interval;
        let (device_code, user_code) =
            shared
                .state()
                .oauth
                .devices
                .start(client_id, scopes, interval, now);
        let issuer = issuer(Some(origin));
        let body = json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": format!("{issuer}{DEVICE_PAGE_PATH}"),
            "verification_uri_complete": format!("{issuer}{DEVICE_PAGE_PATH}?user_code={user_code}"),
            "expires_in": DEVICE_CODE_TTL.as_secs(),
            "interval": whole_seconds(interval),
        });
        Ok(json_response(StatusCode::OK, &body))
    })
    .await
}

/// `POST /oauth/v2/token`: the device code grant and the refresh token grant.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    call(&shared, request, |shared, form, _| {
        let issued = match form.get("grant_type") {
            Some(DEVICE_CODE_GRANT) => {
                let client_id = client(shared, form)?;
                device_code_grant(shared, form, client_id)?
            }
            Some(REFRESH_TOKEN_GRANT) => {
                let client_id = client(shared, form)?;
                refresh_token_grant(shared, form, client_id)?
            }
            _ => return Err(UNSUPPORTED_GRANT),
        };
        Ok(token_answer(shared, issued))
    })
    .await
}

/// `POST /oauth/v2/revoke` (RFC 7009): 200 for every well-formed request of a known client.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    call(&shared, request, |shared, form, _| {
        let client_id = client(shared, form)?;
        let token = form
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        shared.state().oauth.tokens.revoke(token, client_id);
        Ok(no_store(StatusCode::OK, Body::empty()))
    })
    .await
}

/// One `POST`: the scripted delay and error, the form, the endpoint's checks, and the outcome
/// for the journal.
async fn call(
    shared: &Shared,
    request: Request,
    endpoint: impl FnOnce(&Shared, &Form, &Origin) -> Result<Response, OAuthError>,
) -> Response {
    let (parts, body) = request.into_parts();
    let info = parts.extensions.get::<CallInfo>();
    if let Some(delay) = info.and_then(|info| info.delay) {
        tokio::time::sleep(delay).await;
    }
    const LOCAL: Origin = Origin::Unknown("http");
    let origin = info.map_or(&LOCAL, |info| &info.origin);
    let result = match info.and_then(|info| info.injected_oauth.clone()) {
        Some(error) => Err(error),
        None => match read_form(&parts.headers, body).await {
            Ok(form) => endpoint(shared, &form, origin),
            Err(error) => Err(error),
        },
    };
    if let Some(info) = info {
        let _ = info.outcome.set(outcome(result.as_ref().map(|_| ())));
    }
    result.unwrap_or_else(|error| error.to_response())
}

async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    if !is_form(headers.get(header::CONTENT_TYPE)) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = crate::rest::read_body(body).await.map_err(|_| {
        OAuthError::invalid_request("the body could not be read (the limit is 65536 bytes)")
    })?;
    Form::parse(&body).map_err(|e| OAuthError::invalid_request(e.0))
}

/// The client of a request: any named one, or with strict mode a configured one.
fn client<'f>(shared: &Shared, form: &'f Form) -> Result<&'f str, OAuthError> {
    let client_id = form.get("client_id").ok_or(MISSING_CLIENT)?;
    if shared.config.strict && !shared.config.client_ids.iter().any(|c| c == client_id) {
        return Err(UNKNOWN_CLIENT);
    }
    Ok(client_id)
}

/// The scopes of a `scope` parameter, each once, in the order given.
fn scopes(scope: Option<&str>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in scope.unwrap_or_default().split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

fn device_code_grant(shared: &Shared, form: &Form, client_id: &str) -> Result<Issued, OAuthError> {
    let device_code = form
        .get("device_code")
        .ok_or_else(|| OAuthError::invalid_request("device_code is missing"))?;
    let now = shared.clock.now();
    let mut state = shared.state();
    let device = state
        .oauth
        .devices
        .get_mut(device_code)
        .filter(|device| device.client_id == client_id)
        .ok_or(UNKNOWN_DEVICE_CODE)?;
    if device.expired(now) {
        return Err(EXPIRED);
    }
    let (user_id, org_id) = match device.decision.clone() {
        Decision::Denied => return Err(DENIED),
        Decision::Pending if device.poll(now) => return Err(PENDING),
        Decision::Pending => return Err(SLOW_DOWN),
        Decision::Approved { user_id, org_id } => (user_id, org_id),
    };
    let scopes = std::mem::take(&mut device.scopes);
    state.oauth.devices.remove(device_code);
    Ok(state.oauth.tokens.sign_in(
        user_id,
        org_id,
        client_id.to_owned(),
        scopes,
        now,
        shared.config.token_ttl,
    ))
}

fn refresh_token_grant(
    shared: &Shared,
    form: &Form,
    client_id: &str,
) -> Result<Issued, OAuthError> {
    let refresh_token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let asked = form.get("scope").map(|scope| scopes(Some(scope)));
    let now = shared.clock.now();
    let ttl = shared.config.token_ttl;
    shared
        .state()
        .oauth
        .tokens
        .refresh(refresh_token, client_id, asked, now, ttl)
        .map_err(|error| match error {
            RefreshError::Invalid => INVALID_REFRESH,
            RefreshError::Scope => INVALID_SCOPE,
        })
}

fn token_answer(shared: &Shared, issued: Issued) -> Response {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": shared.config.token_ttl.as_secs(),
        "scope": issued.scope,
    });
    if let Some(refresh_token) = issued.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    json_response(StatusCode::OK, &body)
}

/// The issuer: the public origin, or the scheme and host the request came in on.
fn issuer(origin: Option<&Origin>) -> String {
    let mut issuer = String::with_capacity(64);
    origin
        .unwrap_or(&Origin::Unknown("http"))
        .write(&mut issuer);
    issuer
}

/// A duration in whole seconds, rounded up: a client that waits that long is never too soon.
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        seconds.saturating_add(1)
    } else {
        seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_each_once_in_order() {
        assert_eq!(
            scopes(Some("openid  offline_access openid\tprofile")),
            ["openid", "offline_access", "profile"]
        );
        assert!(scopes(None).is_empty());
    }

    #[test]
    fn intervals_round_up() {
        assert_eq!(whole_seconds(Duration::from_secs(5)), 5);
        assert_eq!(whole_seconds(Duration::from_millis(100)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::MAX), u64::MAX);
    }
}
