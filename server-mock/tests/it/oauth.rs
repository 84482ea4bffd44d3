//! OAuth 2.0 Device Authorization against the mock, over real HTTP: discovery, the device and
//! token endpoints with every answer of the table, approval by the admin API, from Rust and on
//! the `/device` page, the tokens on the API (REST and gRPC), refresh rotation, revocation,
//! expiry on the mock's clock, faults, strict client IDs, malformed requests, and that no device
//! code or token shows in the journal or the admin views.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::oauth::{API_AUDIENCE_SCOPE, DEFAULT_APPROVER_TOKEN};
use zitadel_passkey_mock::state::{DEFAULT_ORG_ID, derived_user_id};
use zitadel_passkey_mock::{Code, DeviceError, DeviceStatus, Fault, MockServer};

const CLIENT: &str = "312345678901234567";
const USER: &str = "218000000000000021";
const ORG: &str = "318000000000000021";
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
/// What the SDK asks for by default.
const SCOPES: &str = "openid urn:zitadel:iam:org:project:id:zitadel:aud offline_access";

async fn mock() -> MockServer {
    MockServer::builder()
        .user("tok", USER, ORG)
        .start()
        .await
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A form `POST` over HTTP/1.1.
async fn post(mock: &MockServer, path: &str, pairs: &[(&str, &str)]) -> Reply {
    send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::POST,
        path,
        &[FORM],
        form(pairs),
    )
    .await
    .unwrap()
}

async fn admin(mock: &MockServer, method: Method, path: &str, body: serde_json::Value) -> Reply {
    send(
        mock.local_addr(),
        Version::HTTP_11,
        method,
        path,
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
    .unwrap()
}

/// A started authorization: the device endpoint's answer.
async fn start(mock: &MockServer, client_id: &str, scope: &str) -> serde_json::Value {
    let reply = post(
        mock,
        "/oauth/v2/device_authorization",
        &[("client_id", client_id), ("scope", scope)],
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json()
}

fn text<'a>(json: &'a serde_json::Value, key: &str) -> &'a str {
    json[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {json}"))
}

async fn poll(mock: &MockServer, client_id: &str, device_code: &str) -> Reply {
    post(
        mock,
        "/oauth/v2/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", client_id),
        ],
    )
    .await
}

async fn refresh(mock: &MockServer, refresh_token: &str, scope: Option<&str>) -> Reply {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", CLIENT),
    ];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    post(mock, "/oauth/v2/token", &pairs).await
}

async fn revoke(mock: &MockServer, token: &str) -> Reply {
    post(
        mock,
        "/oauth/v2/revoke",
        &[("token", token), ("client_id", CLIENT)],
    )
    .await
}

/// Checks an OAuth error answer: its HTTP status, `error`, a description, and no caching.
#[track_caller]
fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let json = reply.json();
    assert_eq!(json["error"], error, "{json}");
    assert!(!text(&json, "error_description").is_empty(), "{json}");
}

/// Starts an authorization, approves it for `user_id` (the default approver if `None`) and
/// fetches its tokens.
async fn sign_in(mock: &MockServer, scope: &str, user_id: Option<&str>) -> serde_json::Value {
    let started = start(mock, CLIENT, scope).await;
    mock.approve_device(text(&started, "user_code"), user_id)
        .unwrap();
    let reply = poll(mock, CLIENT, text(&started, "device_code")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn list_passkeys(
    mock: &MockServer,
    via: Via,
    token: &str,
) -> Result<ListMyPasswordlessResponse, CallError> {
    let auth = bearer(token);
    call(
        &mock.uri(),
        via,
        LIST,
        ListMyPasswordlessRequest {},
        &[("authorization", &auth)],
        "",
    )
    .await
}

async fn add_link(
    mock: &MockServer,
    token: &str,
    headers: &[(&'static str, &str)],
) -> Result<AddMyPasswordlessLinkResponse, CallError> {
    let auth = bearer(token);
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    call(
        &mock.uri(),
        Via::JsonH1,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &all,
        "",
    )
    .await
}

#[track_caller]
fn assert_token_invalid(result: Result<impl std::fmt::Debug, CallError>) {
    let error = result.expect_err("refused");
    assert_eq!(error.code, 16, "{error:?}");
    assert_eq!(error.id(), Some("AUTH-7fs1e"), "{error:?}");
    assert_eq!(error.message, "Errors.Token.Invalid (AUTH-7fs1e)");
}

fn html(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

#[tokio::test]
async fn discovery_names_the_endpoints_under_the_origin() {
    let mock = mock().await;
    let host = format!("localhost:{}", mock.local_addr().port());
    let reply = send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::GET,
        "/.well-known/openid-configuration",
        &[("host", &host)],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    let issuer = format!("http://{host}");
    assert_eq!(json["issuer"], issuer.as_str());
    for (key, path) in [
        (
            "device_authorization_endpoint",
            "/oauth/v2/device_authorization",
        ),
        ("token_endpoint", "/oauth/v2/token"),
        ("revocation_endpoint", "/oauth/v2/revoke"),
    ] {
        assert_eq!(json[key], format!("{issuer}{path}"), "{key}");
    }
    let grants = json["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"urn:ietf:params:oauth:grant-type:device_code".into()));
    assert!(grants.contains(&"refresh_token".into()));
    assert!(
        json["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&API_AUDIENCE_SCOPE.into())
    );
    // Over HTTP/2 the origin is the `:authority`.
    let reply = send(
        mock.local_addr(),
        Version::HTTP_2,
        Method::GET,
        "/.well-known/openid-configuration",
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.json()["issuer"], mock.uri().as_str());
    // Neither faulted nor journaled.
    mock.push_fault(Fault::proxy_status(503));
    let reply = get(&format!("{}/.well-known/openid-configuration", mock.uri()))
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(mock.journal().is_empty());

    let public = MockServer::builder()
        .public_origin("https://auth.example.com/")
        .start()
        .await
        .unwrap();
    let reply = get(&format!(
        "{}/.well-known/openid-configuration",
        public.uri()
    ))
    .await
    .unwrap();
    let json = reply.json();
    assert_eq!(json["issuer"], "https://auth.example.com");
    assert_eq!(
        json["token_endpoint"],
        "https://auth.example.com/oauth/v2/token"
    );
    let started = start(&public, CLIENT, "openid").await;
    assert_eq!(
        started["verification_uri"],
        "https://auth.example.com/device"
    );
}

#[tokio::test]
async fn sign_in_with_the_admin_api_then_call_the_api_as_the_approver_in_strict_mode() {
    let mock = MockServer::builder()
        .strict(true)
        .client_id(CLIENT)
        .user("tok", USER, ORG)
        .start()
        .await
        .unwrap();
    let passkey = mock.add_passkey(USER, "laptop");
    let started = start(&mock, CLIENT, SCOPES).await;
    let device_code = text(&started, "device_code");
    let user_code = text(&started, "user_code");
    assert_eq!(device_code.len(), 43);
    assert!(
        device_code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(user_code.len(), 9, "{user_code}");
    for (i, c) in user_code.chars().enumerate() {
        if i == 4 {
            assert_eq!(c, '-');
        } else {
            assert!("BCDFGHJKLMNPQRSTVWXZ".contains(c), "{user_code}");
        }
    }
    let origin = mock.uri();
    assert_eq!(started["verification_uri"], format!("{origin}/device"));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{origin}/device?user_code={user_code}")
    );
    assert_eq!(started["expires_in"], 300);
    assert_eq!(started["interval"], 5);

    assert_oauth_error(
        &poll(&mock, CLIENT, device_code).await,
        400,
        "authorization_pending",
    );
    let listed = admin(
        &mock,
        Method::GET,
        "/__mock/device",
        serde_json::Value::Null,
    )
    .await;
    let listed = listed.json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["user_code"], user_code);
    assert_eq!(listed[0]["client_id"], CLIENT);
    assert_eq!(
        listed[0]["scopes"],
        serde_json::json!(["openid", API_AUDIENCE_SCOPE, "offline_access"])
    );
    assert_eq!(listed[0]["status"], "pending");

    let approved = admin(
        &mock,
        Method::POST,
        "/__mock/device/approve",
        serde_json::json!({ "user_code": user_code }),
    )
    .await;
    assert_eq!(approved.status, 200);
    let approved = approved.json();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["user_id"], USER, "the first --user");
    assert_eq!(approved["org_id"], ORG, "the user's org");

    let reply = poll(&mock, CLIENT, device_code).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = reply.json();
    let access = text(&tokens, "access_token");
    assert!(
        access.starts_with("mock_at_") && access.len() == 8 + 43,
        "{access}"
    );
    assert!(text(&tokens, "refresh_token").starts_with("mock_rt_"));
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 43_200);
    assert_eq!(tokens["scope"], SCOPES);
    assert!(tokens.get("id_token").is_none());

    for via in [Via::JsonH1, Via::JsonH2, Via::Grpc, Via::GrpcWebH1] {
        let list = list_passkeys(&mock, via, access).await.unwrap();
        assert_eq!(list.result.len(), 1, "{via:?}");
        assert_eq!(
            list.result[0].id, passkey,
            "{via:?}: the approver's passkeys"
        );
    }
    let link = add_link(&mock, access, &[("x-zitadel-orgid", ORG)])
        .await
        .unwrap();
    assert_eq!(link.details.unwrap().resource_owner, ORG);
    let params = link_params(&link.link);
    assert_eq!(params["userID"], USER);

    // The device code is used up.
    assert_oauth_error(
        &poll(&mock, CLIENT, device_code).await,
        400,
        "invalid_grant",
    );
    assert!(mock.pending_devices().is_empty());
    let journal: Vec<&str> = mock.journal().iter().map(|e| e.method).collect();
    assert_eq!(
        &journal[..3],
        ["DeviceAuthorization", "Token", "Token"],
        "{journal:?}"
    );
}

#[tokio::test]
async fn who_approves_and_in_which_org() {
    // No configured user: the user derived from the default approver's token.
    let mock = MockServer::start().await.unwrap();
    let started = start(&mock, CLIENT, SCOPES).await;
    let approved = mock
        .approve_device(text(&started, "user_code"), None)
        .unwrap();
    let derived = derived_user_id(DEFAULT_APPROVER_TOKEN);
    assert_eq!(approved.user_id.as_deref(), Some(derived.as_str()));
    assert_eq!(approved.org_id.as_deref(), Some(DEFAULT_ORG_ID));
    assert_eq!(approved.status, DeviceStatus::Approved);
    let tokens = poll(&mock, CLIENT, text(&started, "device_code"))
        .await
        .json();
    let link = add_link(&mock, text(&tokens, "access_token"), &[])
        .await
        .unwrap();
    assert_eq!(link.details.unwrap().resource_owner, DEFAULT_ORG_ID);
    assert_eq!(link_params(&link.link)["userID"], derived);

    // An unknown user named from Rust: the default org.
    let tokens = sign_in(&mock, SCOPES, Some("218000000000000099")).await;
    let link = add_link(&mock, text(&tokens, "access_token"), &[])
        .await
        .unwrap();
    assert_eq!(link_params(&link.link)["userID"], "218000000000000099");
    assert_eq!(link_params(&link.link)["orgID"], DEFAULT_ORG_ID);

    // An org named on the admin API: the tokens act there, and the org is known.
    let started = start(&mock, CLIENT, SCOPES).await;
    let approved = admin(
        &mock,
        Method::POST,
        "/__mock/device/approve",
        serde_json::json!({
            "user_code": text(&started, "user_code").to_lowercase().replace('-', ""),
            "user_id": "218000000000000098",
            "org_id": "318000000000000098",
        }),
    )
    .await;
    assert_eq!(approved.status, 200, "lowercase and without the dash");
    let tokens = poll(&mock, CLIENT, text(&started, "device_code"))
        .await
        .json();
    let link = add_link(
        &mock,
        text(&tokens, "access_token"),
        &[("x-zitadel-orgid", "318000000000000098")],
    )
    .await
    .unwrap();
    assert_eq!(link.details.unwrap().resource_owner, "318000000000000098");

    // The admin API's errors.
    let unknown = admin(
        &mock,
        Method::POST,
        "/__mock/device/approve",
        serde_json::json!({ "user_code": "BBBB-BBBB" }),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.json()["error"]
            .as_str()
            .unwrap()
            .contains("invalid")
    );
    let started = start(&mock, CLIENT, SCOPES).await;
    let user_code = text(&started, "user_code");
    let empty = admin(
        &mock,
        Method::POST,
        "/__mock/device/approve",
        serde_json::json!({ "user_code": user_code, "user_id": "" }),
    )
    .await;
    assert_eq!(empty.status, 400);
    let typo = admin(
        &mock,
        Method::POST,
        "/__mock/device/approve",
        serde_json::json!({ "user_code": user_code, "user": "x" }),
    )
    .await;
    assert!(typo.status.is_client_error(), "unknown field");
    mock.deny_device(user_code).unwrap();
    assert_eq!(
        mock.approve_device(user_code, None),
        Err(DeviceError::AlreadyDecided)
    );
    let again = admin(
        &mock,
        Method::POST,
        "/__mock/device/deny",
        serde_json::json!({ "user_code": user_code }),
    )
    .await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn tokens_without_the_audience_or_not_issued_are_refused_in_every_mode() {
    let mock = mock().await;
    let tokens = sign_in(&mock, "openid offline_access", None).await;
    assert_eq!(tokens["scope"], "openid offline_access");
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, text(&tokens, "access_token")).await);
    assert_token_invalid(list_passkeys(&mock, Via::Grpc, text(&tokens, "access_token")).await);
    // A refresh token is no access token.
    assert_token_invalid(list_passkeys(&mock, Via::Grpc, text(&tokens, "refresh_token")).await);
    // Tokens of the mock's shape it never issued are never taken as derived users.
    let made_up = "mock_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, made_up).await);
    assert_token_invalid(list_passkeys(&mock, Via::GrpcWebH1, "mock_rt_x").await);
    let users = mock.users();
    assert_eq!(users.len(), 1, "no derived user: {users:?}");
    // Any other token is still a derived user without strict mode.
    assert!(
        list_passkeys(&mock, Via::JsonH1, "mock-at-not-ours")
            .await
            .is_ok()
    );
    let row = mock.journal().pop().unwrap();
    assert_eq!(row.code, Some(Code::Ok));
}

#[tokio::test]
async fn polling_too_fast_slows_down() {
    let mock = mock().await;
    let started = start(&mock, CLIENT, SCOPES).await;
    let code = text(&started, "device_code");
    assert_oauth_error(
        &poll(&mock, CLIENT, code).await,
        400,
        "authorization_pending",
    );
    let slow = poll(&mock, CLIENT, code).await;
    assert_oauth_error(&slow, 400, "slow_down");
    // The interval is 10 s now.
    mock.advance_clock(Duration::from_secs(9));
    assert_oauth_error(&poll(&mock, CLIENT, code).await, 400, "slow_down");
    // And 15 s.
    mock.advance_clock(Duration::from_secs(15));
    assert_oauth_error(
        &poll(&mock, CLIENT, code).await,
        400,
        "authorization_pending",
    );
    // Approved, the next poll gets the tokens however soon it comes.
    mock.approve_device(text(&started, "user_code"), None)
        .unwrap();
    assert_eq!(poll(&mock, CLIENT, code).await.status, 200);

    // A shorter interval for tests (the mock's own setting): no slow_down at zero.
    let fast = MockServer::builder()
        .device_interval(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let started = start(&fast, CLIENT, SCOPES).await;
    assert_eq!(started["interval"], 0);
    for _ in 0..3 {
        assert_oauth_error(
            &poll(&fast, CLIENT, text(&started, "device_code")).await,
            400,
            "authorization_pending",
        );
    }
    let subsecond = MockServer::builder()
        .device_interval(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    assert_eq!(
        start(&subsecond, CLIENT, "").await["interval"],
        1,
        "rounded up"
    );
}

#[tokio::test]
async fn deny_gives_access_denied() {
    let mock = mock().await;
    let started = start(&mock, CLIENT, SCOPES).await;
    let denied = admin(
        &mock,
        Method::POST,
        "/__mock/device/deny",
        serde_json::json!({ "user_code": text(&started, "user_code") }),
    )
    .await;
    assert_eq!(denied.status, 200);
    assert_eq!(denied.json()["status"], "denied");
    assert_eq!(mock.pending_devices()[0].status, DeviceStatus::Denied);
    for _ in 0..2 {
        assert_oauth_error(
            &poll(&mock, CLIENT, text(&started, "device_code")).await,
            400,
            "access_denied",
        );
    }
    // Another client cannot use the device code at all.
    assert_oauth_error(
        &poll(&mock, "other", text(&started, "device_code")).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn device_codes_expire_on_the_mock_clock() {
    let mock = mock().await;
    let started = start(&mock, CLIENT, SCOPES).await;
    let code = text(&started, "device_code");
    mock.advance_clock(Duration::from_secs(299));
    assert_eq!(mock.pending_devices().len(), 1);
    let advanced = admin(
        &mock,
        Method::POST,
        "/__mock/clock/advance",
        serde_json::json!({ "seconds": 1 }),
    )
    .await;
    assert_eq!(advanced.status, 204);
    assert_oauth_error(&poll(&mock, CLIENT, code).await, 400, "expired_token");
    assert_eq!(
        mock.approve_device(text(&started, "user_code"), None),
        Err(DeviceError::UnknownCode)
    );
    assert!(mock.pending_devices().is_empty());
    // Approved but not fetched in time: expired too.
    let started = start(&mock, CLIENT, SCOPES).await;
    mock.approve_device(text(&started, "user_code"), None)
        .unwrap();
    mock.advance_clock(Duration::from_secs(300));
    assert_oauth_error(
        &poll(&mock, CLIENT, text(&started, "device_code")).await,
        400,
        "expired_token",
    );
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_fails() {
    let mock = mock().await;
    let first = sign_in(&mock, SCOPES, None).await;
    let old = text(&first, "refresh_token");
    let reply = refresh(&mock, old, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let second = reply.json();
    assert_eq!(second["scope"], SCOPES);
    assert_eq!(second["token_type"], "Bearer");
    let new = text(&second, "refresh_token");
    assert_ne!(new, old);
    assert_ne!(text(&second, "access_token"), text(&first, "access_token"));
    assert!(
        list_passkeys(&mock, Via::Grpc, text(&second, "access_token"))
            .await
            .is_ok()
    );
    // The first access token lives on until it expires; the old refresh token is done.
    assert!(
        list_passkeys(&mock, Via::JsonH1, text(&first, "access_token"))
            .await
            .is_ok()
    );
    assert_oauth_error(&refresh(&mock, old, None).await, 400, "invalid_grant");
    // Fewer scopes may be asked for (without the audience the API refuses the token), never more.
    assert_oauth_error(
        &refresh(&mock, new, Some("openid profile")).await,
        400,
        "invalid_scope",
    );
    let narrow = refresh(&mock, new, Some("openid offline_access"))
        .await
        .json();
    assert_eq!(narrow["scope"], "openid offline_access");
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, text(&narrow, "access_token")).await);
    let full = refresh(&mock, text(&narrow, "refresh_token"), None)
        .await
        .json();
    assert_eq!(
        full["scope"], SCOPES,
        "the new refresh token keeps the sign-in's scopes"
    );
    // Without offline_access there is no refresh token.
    let once = sign_in(
        &mock,
        "openid urn:zitadel:iam:org:project:id:zitadel:aud",
        None,
    )
    .await;
    assert!(once.get("refresh_token").is_none(), "{once}");
    assert_oauth_error(
        &refresh(&mock, "mock_rt_unknown", None).await,
        400,
        "invalid_grant",
    );
    assert_oauth_error(
        &post(
            &mock,
            "/oauth/v2/token",
            &[("grant_type", "refresh_token"), ("client_id", CLIENT)],
        )
        .await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn revoke_ends_access() {
    let mock = mock().await;
    let tokens = sign_in(&mock, SCOPES, None).await;
    let access = text(&tokens, "access_token");
    assert!(list_passkeys(&mock, Via::Grpc, access).await.is_ok());
    let reply = revoke(&mock, access).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    assert_token_invalid(list_passkeys(&mock, Via::Grpc, access).await);
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, access).await);
    // The refresh token still works; revoking it ends its sign-in's access tokens.
    let refreshed = refresh(&mock, text(&tokens, "refresh_token"), None)
        .await
        .json();
    let again = text(&refreshed, "access_token");
    assert!(list_passkeys(&mock, Via::JsonH1, again).await.is_ok());
    let other = sign_in(&mock, SCOPES, None).await;
    assert_eq!(
        revoke(&mock, text(&refreshed, "refresh_token"))
            .await
            .status,
        200
    );
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, again).await);
    assert_oauth_error(
        &refresh(&mock, text(&refreshed, "refresh_token"), None).await,
        400,
        "invalid_grant",
    );
    // Other sign-ins are left alone, as is another client's token.
    let still = text(&other, "access_token");
    assert!(list_passkeys(&mock, Via::JsonH1, still).await.is_ok());
    let foreign = post(
        &mock,
        "/oauth/v2/revoke",
        &[("token", still), ("client_id", "someone-else")],
    )
    .await;
    assert_eq!(foreign.status, 200);
    assert!(list_passkeys(&mock, Via::JsonH1, still).await.is_ok());
    // Unknown tokens get 200 too; a missing token is a bad request.
    assert_eq!(revoke(&mock, "not-a-token").await.status, 200);
    assert_oauth_error(
        &post(&mock, "/oauth/v2/revoke", &[("client_id", CLIENT)]).await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn tokens_expire_on_the_mock_clock() {
    let mock = MockServer::builder()
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let tokens = sign_in(&mock, SCOPES, None).await;
    assert_eq!(tokens["expires_in"], 60);
    let access = text(&tokens, "access_token");
    mock.advance_clock(Duration::from_secs(59));
    assert!(list_passkeys(&mock, Via::Grpc, access).await.is_ok());
    mock.advance_clock(Duration::from_secs(1));
    assert_token_invalid(list_passkeys(&mock, Via::Grpc, access).await);
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, access).await);
    // The refresh token outlives it.
    let refreshed = refresh(&mock, text(&tokens, "refresh_token"), None)
        .await
        .json();
    assert!(
        list_passkeys(&mock, Via::JsonH1, text(&refreshed, "access_token"))
            .await
            .is_ok()
    );
    // A reset forgets every token.
    mock.reset();
    assert_token_invalid(list_passkeys(&mock, Via::JsonH1, text(&refreshed, "access_token")).await);
    assert!(
        MockServer::builder()
            .token_ttl(Duration::from_secs(u64::MAX))
            .start()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_device_page_allows_and_denies_and_escapes_what_it_shows() {
    let mock = mock().await;
    let sneaky_client = "<img src=x onerror=alert(1)>";
    let started = start(
        &mock,
        sneaky_client,
        "openid <b>bold</b> urn:zitadel:iam:org:project:id:zitadel:aud",
    )
    .await;
    let user_code = text(&started, "user_code");
    let page = get(text(&started, "verification_uri_complete"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = html(&page);
    assert!(body.contains("Device Authorization"), "{body}");
    assert!(body.contains(&format!("value=\"{user_code}\"")), "{body}");
    assert!(
        body.contains(&format!("value=\"{USER}\"")),
        "the first --user prefilled"
    );
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
    assert!(body.contains("&lt;b&gt;bold&lt;/b&gt;"), "{body}");
    assert!(!body.contains("<img") && !body.contains("<b>"), "{body}");
    assert!(body.contains("btn-allow") && body.contains("btn-deny"));

    // A code that is no code: the form again, escaped, HTTP 200.
    let page = get(&format!(
        "{}/device?user_code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        mock.uri()
    ))
    .await
    .unwrap();
    assert_eq!(page.status, 200);
    let body = html(&page);
    assert!(body.contains("MOCK-dev01"), "{body}");
    assert!(body.contains("&quot;&gt;&lt;script&gt;"), "{body}");
    assert!(!body.contains("<script>"), "{body}");

    let submit = |pairs: Vec<(&'static str, String)>| {
        let mock = &mock;
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = post(mock, "/device", &pairs).await;
            assert_eq!(reply.status, 200);
            html(&reply)
        }
    };
    let body = submit(vec![
        ("user_code", "BBBB-BBBB".to_owned()),
        ("user_id", "<u>".to_owned()),
        ("action", "allow".to_owned()),
    ])
    .await;
    assert!(
        body.contains("MOCK-dev01") && body.contains("value=\"&lt;u&gt;\""),
        "{body}"
    );
    let body = submit(vec![
        ("user_code", user_code.to_owned()),
        ("user_id", " ".to_owned()),
        ("action", "allow".to_owned()),
    ])
    .await;
    assert!(body.contains("MOCK-dev02"), "{body}");
    let body = submit(vec![
        ("user_code", user_code.to_owned()),
        ("user_id", USER.to_owned()),
    ])
    .await;
    assert!(body.contains("MOCK-dev03"), "{body}");
    assert_oauth_error(
        &poll(&mock, sneaky_client, text(&started, "device_code")).await,
        400,
        "authorization_pending",
    );

    // Allow, typed in lowercase without the dash, as a user with markup in the ID.
    let body = submit(vec![
        ("user_code", user_code.to_lowercase().replace('-', "")),
        ("user_id", "<i>218</i>".to_owned()),
        ("action", "allow".to_owned()),
    ])
    .await;
    assert!(body.contains("Device authorization approved"), "{body}");
    assert!(
        body.contains("&lt;i&gt;218&lt;/i&gt;") && !body.contains("<i>"),
        "{body}"
    );
    assert!(
        body.contains(DEFAULT_ORG_ID),
        "an unknown user: the default org"
    );
    let tokens = poll(&mock, sneaky_client, text(&started, "device_code"))
        .await
        .json();
    let link = add_link(&mock, text(&tokens, "access_token"), &[])
        .await
        .unwrap();
    assert_eq!(link_params(&link.link)["userID"], "<i>218</i>");
    // Decided codes cannot be decided again on the page.
    let body = submit(vec![
        ("user_code", user_code.to_owned()),
        ("action", "deny".to_owned()),
    ])
    .await;
    assert!(body.contains("MOCK-dev01"), "{body}");

    // Deny.
    let started = start(&mock, CLIENT, SCOPES).await;
    let body = submit(vec![
        ("user_code", text(&started, "user_code").to_owned()),
        ("user_id", String::new()),
        ("action", "deny".to_owned()),
    ])
    .await;
    assert!(body.contains("Device authorization denied"), "{body}");
    assert_oauth_error(
        &poll(&mock, CLIENT, text(&started, "device_code")).await,
        400,
        "access_denied",
    );
    // The page is neither faulted nor journaled.
    assert!(mock.journal().iter().all(|e| e.method != "Device"));
}

#[tokio::test]
async fn faults_apply_to_the_oauth_endpoints() {
    let mock = mock().await;
    let started = start(&mock, CLIENT, SCOPES).await;
    let code = text(&started, "device_code");
    mock.push_fault(
        Fault::oauth_error("slow_down", "scripted slow down")
            .method("Token")
            .times(2),
    );
    for _ in 0..2 {
        let reply = poll(&mock, CLIENT, code).await;
        assert_oauth_error(&reply, 400, "slow_down");
        assert_eq!(reply.json()["error_description"], "scripted slow down");
    }
    let entry = mock.journal().pop().unwrap();
    assert_eq!(entry.method, "Token");
    assert_eq!(entry.transport.as_str(), "json");
    assert_eq!(entry.fault, Some("oauth_error"));
    assert_eq!(entry.error_id.as_deref(), Some("slow_down"));
    assert_eq!(entry.code, Some(Code::InvalidArgument));

    // The admin API's form, with a default description; 401 for invalid_client.
    let pushed = admin(
        &mock,
        Method::POST,
        "/__mock/faults",
        serde_json::json!({"kind": "oauth_error", "error": "invalid_client", "method": "DeviceAuthorization"}),
    )
    .await;
    assert_eq!(pushed.status, 201);
    let pending = admin(
        &mock,
        Method::GET,
        "/__mock/faults",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(pending.json()[0]["kind"], "oauth_error");
    let reply = post(
        &mock,
        "/oauth/v2/device_authorization",
        &[("client_id", CLIENT)],
    )
    .await;
    assert_oauth_error(&reply, 401, "invalid_client");
    assert_eq!(
        mock.journal().pop().unwrap().code,
        Some(Code::Unauthenticated)
    );
    let refused = admin(
        &mock,
        Method::POST,
        "/__mock/faults",
        serde_json::json!({"kind": "oauth_error", "error": "slow_down", "method": "ListMyPasswordless"}),
    )
    .await;
    assert_eq!(refused.status, 400);

    // A gRPC error fault never reaches an OAuth endpoint, and an OAuth error never an RPC.
    mock.push_fault(Fault::error(Code::Unavailable, "", "down"));
    assert_oauth_error(
        &poll(&mock, CLIENT, code).await,
        400,
        "authorization_pending",
    );
    assert_eq!(mock.pending_faults().len(), 1);
    mock.clear_faults();
    mock.push_fault(Fault::oauth_error("server_error", "down"));
    assert!(list_passkeys(&mock, Via::JsonH1, "tok").await.is_ok());
    assert_oauth_error(&poll(&mock, CLIENT, code).await, 500, "server_error");

    // The generic kinds: a proxy in front, a dropped connection, a delay.
    mock.push_fault(Fault::proxy_status(503).method("DeviceAuthorization"));
    let reply = post(
        &mock,
        "/oauth/v2/device_authorization",
        &[("client_id", CLIENT)],
    )
    .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    mock.push_fault(Fault::drop_before_handler().method("Revoke"));
    let dropped = send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::POST,
        "/oauth/v2/revoke",
        &[FORM],
        form(&[("token", "x"), ("client_id", CLIENT)]),
    )
    .await;
    assert!(dropped.is_err());
    let entry = mock.journal().pop().unwrap();
    assert_eq!((entry.method, entry.code), ("Revoke", None));
    mock.push_fault(Fault::drop_after_handler().method("Token"));
    mock.approve_device(text(&started, "user_code"), None)
        .unwrap();
    assert!(
        send(
            mock.local_addr(),
            Version::HTTP_11,
            Method::POST,
            "/oauth/v2/token",
            &[FORM],
            form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", code),
                ("client_id", CLIENT),
            ]),
        )
        .await
        .is_err()
    );
    // The handler ran: the device code was exchanged, and the tokens are lost with the answer.
    assert_oauth_error(&poll(&mock, CLIENT, code).await, 400, "invalid_grant");
    mock.push_fault(Fault::delay(Duration::from_millis(300)).method("Revoke"));
    let began = std::time::Instant::now();
    assert_eq!(revoke(&mock, "x").await.status, 200);
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.journal().pop().unwrap().fault, Some("delay"));
}

#[tokio::test]
async fn strict_mode_takes_only_its_client_ids() {
    let mock = MockServer::builder()
        .strict(true)
        .client_id(CLIENT)
        .client_id("another")
        .start()
        .await
        .unwrap();
    for client in ["unknown", ""] {
        let reply = post(
            &mock,
            "/oauth/v2/device_authorization",
            &[("client_id", client), ("scope", SCOPES)],
        )
        .await;
        assert_oauth_error(&reply, 401, "invalid_client");
    }
    assert_oauth_error(
        &post(
            &mock,
            "/oauth/v2/device_authorization",
            &[("scope", SCOPES)],
        )
        .await,
        401,
        "invalid_client",
    );
    let started = start(&mock, "another", SCOPES).await;
    assert_oauth_error(
        &poll(&mock, "unknown", text(&started, "device_code")).await,
        401,
        "invalid_client",
    );
    let reply = post(
        &mock,
        "/oauth/v2/revoke",
        &[("token", "x"), ("client_id", "unknown")],
    )
    .await;
    assert_oauth_error(&reply, 401, "invalid_client");
    assert_eq!(
        mock.journal().pop().unwrap().error_id.as_deref(),
        Some("invalid_client")
    );
    // Strict without any client ID: none.
    let none = MockServer::builder().strict(true).start().await.unwrap();
    assert_oauth_error(
        &post(
            &none,
            "/oauth/v2/device_authorization",
            &[("client_id", CLIENT)],
        )
        .await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    count_panics();
    let mock = mock().await;
    let addr = mock.local_addr();
    let raw = |content_type: &'static str, body: Vec<u8>| async move {
        send(
            addr,
            Version::HTTP_11,
            Method::POST,
            "/oauth/v2/token",
            &[("content-type", content_type)],
            body,
        )
        .await
        .unwrap()
    };
    let cases: Vec<(&str, &'static str, Vec<u8>)> = vec![
        (
            "json",
            "application/json",
            br#"{"grant_type":"refresh_token"}"#.to_vec(),
        ),
        ("no type", "", b"grant_type=refresh_token".to_vec()),
        (
            "twice",
            "application/x-www-form-urlencoded",
            format!("grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id={CLIENT}")
                .into_bytes(),
        ),
        (
            "not UTF-8",
            "application/x-www-form-urlencoded",
            b"grant_type=refresh_token&refresh_token=%FF%FE".to_vec(),
        ),
        (
            "huge value",
            "application/x-www-form-urlencoded",
            format!(
                "grant_type=refresh_token&refresh_token={}",
                "a".repeat(5000)
            )
            .into_bytes(),
        ),
        (
            "huge body",
            "application/x-www-form-urlencoded",
            format!("grant_type=refresh_token&x={}", "a".repeat(70_000)).into_bytes(),
        ),
        (
            "many parameters",
            "application/x-www-form-urlencoded",
            (0..40)
                .map(|i| format!("p{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
        ),
        (
            "no device code",
            "application/x-www-form-urlencoded",
            format!("grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={CLIENT}")
                .into_bytes(),
        ),
    ];
    for (what, content_type, body) in cases {
        let reply = raw(content_type, body).await;
        assert_eq!(reply.status, 400, "{what}: {:?}", reply.body);
        assert_eq!(reply.json()["error"], "invalid_request", "{what}");
    }
    for (what, body) in [
        ("no grant type", format!("client_id={CLIENT}")),
        (
            "another grant",
            format!("grant_type=password&client_id={CLIENT}"),
        ),
        (
            "client credentials",
            "grant_type=client_credentials".to_owned(),
        ),
    ] {
        let reply = raw("application/x-www-form-urlencoded", body.into_bytes()).await;
        assert_eq!(reply.json()["error"], "unsupported_grant_type", "{what}");
    }
    let reply = raw(
        "application/x-www-form-urlencoded",
        b"grant_type=refresh_token&refresh_token=x".to_vec(),
    )
    .await;
    assert_oauth_error(&reply, 401, "invalid_client");
    // Only POST: GET is the router's 405.
    let reply = get(&format!("{}/oauth/v2/token", mock.uri()))
        .await
        .unwrap();
    assert_eq!(reply.status, 405);
    // Garbage on the page is a page.
    let reply = send(
        addr,
        Version::HTTP_11,
        Method::POST,
        "/device",
        &[FORM],
        vec![0xff, b'&', b'=', b'%'],
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(panics(), 0);
}

#[tokio::test]
async fn no_device_code_or_token_in_the_journal_or_the_admin_views() {
    let mock = mock().await;
    let started = start(&mock, CLIENT, SCOPES).await;
    let device_code = text(&started, "device_code").to_owned();
    let user_code = text(&started, "user_code").to_owned();
    assert_oauth_error(
        &poll(&mock, CLIENT, &device_code).await,
        400,
        "authorization_pending",
    );
    let waiting = start(&mock, CLIENT, SCOPES).await;
    let waiting_code = text(&waiting, "device_code").to_owned();
    mock.approve_device(&user_code, None).unwrap();
    let tokens = poll(&mock, CLIENT, &device_code).await.json();
    let access = text(&tokens, "access_token").to_owned();
    let refresh_token = text(&tokens, "refresh_token").to_owned();
    let refreshed = refresh(&mock, &refresh_token, None).await.json();
    let access2 = text(&refreshed, "access_token").to_owned();
    let refresh2 = text(&refreshed, "refresh_token").to_owned();
    assert!(list_passkeys(&mock, Via::JsonH1, &access).await.is_ok());
    assert_eq!(revoke(&mock, &refresh2).await.status, 200);

    let secrets = [
        &device_code,
        &waiting_code,
        &access,
        &refresh_token,
        &access2,
        &refresh2,
    ];
    let mut seen = String::new();
    for path in [
        "/__mock/journal",
        "/__mock/device",
        "/__mock/users",
        "/__mock/codes",
        "/__mock/outbox",
        "/__mock/faults",
    ] {
        let reply = admin(&mock, Method::GET, path, serde_json::Value::Null).await;
        assert_eq!(reply.status, 200, "{path}");
        seen.push_str(&String::from_utf8_lossy(&reply.body));
    }
    seen.push_str(&format!(
        "{mock:?} {:?} {:?}",
        mock.journal(),
        mock.pending_devices()
    ));
    for secret in secrets {
        assert!(!seen.contains(secret.as_str()), "{secret} shown: {seen}");
    }
    // The journal has the calls, with the OAuth error as the error id.
    let journal = mock.journal();
    let oauth: Vec<(&str, Option<&str>)> = journal
        .iter()
        .filter(|e| ["DeviceAuthorization", "Token", "Revoke"].contains(&e.method))
        .map(|e| (e.method, e.error_id.as_deref()))
        .collect();
    assert_eq!(
        oauth,
        [
            ("DeviceAuthorization", None),
            ("Token", Some("authorization_pending")),
            ("DeviceAuthorization", None),
            ("Token", None),
            ("Token", None),
            ("Revoke", None),
        ]
    );
    assert!(journal.iter().all(|e| e.transport.as_str() == "json"));
    // The one still waiting is listed by its user code only; a reset forgets it.
    let listed = mock.pending_devices();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_code, text(&waiting, "user_code"));
    mock.reset();
    assert!(mock.pending_devices().is_empty());
    assert_oauth_error(
        &poll(&mock, CLIENT, &waiting_code).await,
        400,
        "invalid_grant",
    );
}
