//! The login page without a browser: which links open the registration page, which show
//! "Code is invalid" (always HTTP 200, as ZITADEL's), how wrong tries count on `GET` and `POST`,
//! the CSRF check, a credential that does not verify, and the `--login-shortcut` form.
//! (`webauthn.rs` completes real registrations with a software authenticator; `browser.rs` in
//! Chromium.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, Version};
use zitadel_passkey::proto::zitadel::auth::v1::*;
use zitadel_passkey_mock::MockServer;
use zitadel_passkey_mock::login::LOGIN_PATH;

pub(crate) const TOKEN: &str = "tok";
pub(crate) const USER: &str = "218000000000000005";
const ORG: &str = "318000000000000005";

pub(crate) async fn mock_with_user(shortcut: bool) -> MockServer {
    MockServer::builder()
        .user(TOKEN, USER, ORG)
        .login_shortcut(shortcut)
        .start()
        .await
        .unwrap()
}

pub(crate) async fn new_link(mock: &MockServer) -> String {
    let response: AddMyPasswordlessLinkResponse = call(
        &mock.uri(),
        Via::Grpc,
        ADD,
        AddMyPasswordlessLinkRequest {},
        &[("authorization", "Bearer tok")],
        "",
    )
    .await
    .unwrap();
    response.link
}

/// The user's passkeys, as ListMyPasswordless answers them.
pub(crate) async fn passkeys(mock: &MockServer) -> Vec<(String, String, i32)> {
    let list: ListMyPasswordlessResponse = call(
        &mock.uri(),
        Via::Grpc,
        LIST,
        ListMyPasswordlessRequest {},
        &[("authorization", "Bearer tok")],
        "",
    )
    .await
    .unwrap();
    list.result
        .into_iter()
        .map(|t| (t.id, t.name, t.state))
        .collect()
}

/// What a browser on `host` (`localhost:PORT` or `127.0.0.1:PORT`) gets for `path_and_query`.
pub(crate) async fn get_page(
    mock: &MockServer,
    host: &str,
    path_and_query: &str,
    cookie: Option<&str>,
) -> Reply {
    let mut headers = vec![("host", host)];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::GET,
        path_and_query,
        &headers,
        "",
    )
    .await
    .unwrap()
}

/// The page's form posted from `host`.
pub(crate) async fn post_form(
    mock: &MockServer,
    host: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut headers = vec![
        ("host", host),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    send(
        mock.local_addr(),
        Version::HTTP_11,
        Method::POST,
        LOGIN_PATH,
        &headers,
        body,
    )
    .await
    .unwrap()
}

pub(crate) fn localhost(mock: &MockServer) -> String {
    format!("localhost:{}", mock.local_addr().port())
}

/// The link's path and query.
pub(crate) fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

pub(crate) fn text(reply: &Reply) -> String {
    String::from_utf8(reply.body.to_vec()).unwrap()
}

/// The value of a hidden field of the page's form (unescaped).
pub(crate) fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The `zitadel.csrf=...` pair the page set, to send back as a cookie.
pub(crate) fn csrf_cookie(reply: &Reply) -> String {
    let set = reply
        .header("set-cookie")
        .expect("the page sets the CSRF cookie");
    set.split(';').next().unwrap().to_owned()
}

/// The creation options the page carries, as JSON.
pub(crate) fn creation_options(html: &str) -> serde_json::Value {
    let encoded = field(html, "credentialCreationData").expect("credentialCreationData");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

/// A page showing "Code is invalid" and no way to register.
#[track_caller]
pub(crate) fn assert_code_invalid(reply: &Reply) {
    assert_eq!(reply.status, 200, "ZITADEL's renderer sets no status");
    let html = text(reply);
    assert!(html.contains("<h1>Passwordless setup</h1>"), "{html}");
    assert!(html.contains("Code is invalid"), "{html}");
    assert!(html.contains("COMMAND-Dhz8i"), "{html}");
    assert_no_form(&html);
}

#[track_caller]
pub(crate) fn assert_no_form(html: &str) {
    assert!(!html.contains("id=\"btn-register\""), "{html}");
    assert!(!html.contains("id=\"name\""), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}

fn with_param(link: &str, key: &str, value: &str) -> String {
    let mut url = url::Url::parse(link).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    url.query_pairs_mut().clear();
    for (k, v) in pairs {
        url.query_pairs_mut()
            .append_pair(&k, if k == key { value } else { &v });
    }
    url.to_string()
}

/// The link's parameters as the page's form posts them back.
fn form_of(link: &str) -> Vec<(String, String)> {
    link_params(link)
        .into_iter()
        .filter(|(k, _)| ["userID", "orgID", "codeID", "code"].contains(&k.as_str()))
        .collect()
}

#[tokio::test]
async fn a_right_link_on_a_domain_opens_the_registration_page() {
    let mock = mock_with_user(false).await;
    let link = new_link(&mock).await;
    let host = localhost(&mock);
    let reply = get_page(&mock, &host, &path_of(&link), None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let html = text(&reply);
    assert!(html.contains("<title>Passwordless setup</title>"), "{html}");
    assert!(html.contains("Name of the device"), "{html}");
    assert!(html.contains(">Register passwordless</button>"), "{html}");
    let params = link_params(&link);
    for key in ["userID", "orgID", "codeID", "code"] {
        assert_eq!(
            field(&html, key).as_deref(),
            Some(params[key].as_str()),
            "{key}"
        );
    }
    assert_eq!(field(&html, "credentialData").as_deref(), Some(""));
    let cookie = csrf_cookie(&reply);
    assert_eq!(
        field(&html, "gorilla.csrf.Token").as_deref(),
        cookie.strip_prefix("zitadel.csrf=")
    );
    assert!(reply.header("set-cookie").unwrap().contains("HttpOnly"));
    let options = creation_options(&html);
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["attestation"], "none");
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(
        public_key["authenticatorSelection"]
            .get("authenticatorAttachment")
            .is_none()
    );
    assert!(
        public_key.get("excludeCredentials").is_none(),
        "no passkeys yet"
    );
    // Opening the link does not use the code up, and each opening is a fresh challenge.
    let again = get_page(&mock, &host, &path_of(&link), Some(&cookie)).await;
    let again_html = text(&again);
    assert_ne!(
        creation_options(&again_html)["publicKey"]["challenge"],
        public_key["challenge"]
    );
    assert_eq!(
        field(&again_html, "gorilla.csrf.Token").as_deref(),
        cookie.strip_prefix("zitadel.csrf="),
        "a browser keeps its CSRF token"
    );
    assert_eq!(mock.live_codes().len(), 1);
}

#[tokio::test]
async fn the_platform_type_picks_the_authenticator_attachment() {
    let mock = mock_with_user(false).await;
    let link = new_link(&mock).await;
    let host = localhost(&mock);
    for (value, attachment, echoed) in [
        ("platform", Some("platform"), "platform"),
        ("1", Some("platform"), "platform"),
        ("crossPlatform", Some("cross-platform"), "crossPlatform"),
        ("2", Some("cross-platform"), "crossPlatform"),
        ("unspecified", None, "unspecified"),
        // Like ZITADEL: an unknown value is "unspecified", not an error.
        ("toaster", None, "unspecified"),
    ] {
        let path = format!("{}&requestPlatformType={value}", path_of(&link));
        let html = text(&get_page(&mock, &host, &path, None).await);
        let selection = &creation_options(&html)["publicKey"]["authenticatorSelection"];
        assert_eq!(
            selection["authenticatorAttachment"].as_str(),
            attachment,
            "{value}"
        );
        assert_eq!(
            field(&html, "requestPlatformType").as_deref(),
            Some(echoed),
            "{value}"
        );
    }
}

#[tokio::test]
async fn an_ip_address_gets_no_ceremony_but_a_link_to_localhost() {
    let mock = mock_with_user(false).await;
    let link = new_link(&mock).await;
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    let reply = get_page(&mock, &mock.local_addr().to_string(), &path_of(&link), None).await;
    assert_eq!(reply.status, 200);
    let html = text(&reply);
    assert!(html.contains("MOCK-rpid"), "{html}");
    assert_no_form(&html);
    let localhost_link = link.replacen("127.0.0.1", "localhost", 1);
    assert!(
        html.contains(&format!(
            "href=\"{}\"",
            localhost_link.replace('&', "&amp;")
        )),
        "{html}"
    );
    // The check did not count as a wrong try.
    assert_eq!(mock.live_codes()[0].failed_attempts, 0);
}

#[tokio::test]
async fn three_wrong_tries_remove_the_code() {
    let mock = mock_with_user(false).await;
    let host = localhost(&mock);
    let link = new_link(&mock).await;
    let wrong = with_param(&link, "code", "AAAAAAAAAAAA");
    for attempt in 1..=3 {
        assert_code_invalid(&get_page(&mock, &host, &path_of(&wrong), None).await);
        let live = mock.live_codes();
        if attempt < 3 {
            assert_eq!(live[0].failed_attempts, attempt);
        } else {
            assert!(live.is_empty(), "removed after the third wrong try");
        }
    }
    // Now even the right code is refused.
    assert_code_invalid(&get_page(&mock, &host, &path_of(&link), None).await);
}

#[tokio::test]
async fn wrong_user_or_org_counts_as_a_wrong_try() {
    let mock = mock_with_user(false).await;
    let host = localhost(&mock);
    let link = new_link(&mock).await;
    for (key, value) in [
        ("userID", "100000000000000000"),
        ("orgID", "100000000000000000"),
    ] {
        let reply = get_page(&mock, &host, &path_of(&with_param(&link, key, value)), None).await;
        assert_code_invalid(&reply);
    }
    assert_eq!(mock.live_codes()[0].failed_attempts, 2);
    let reply = get_page(&mock, &host, &path_of(&link), None).await;
    assert!(text(&reply).contains("id=\"btn-register\""));
}

#[tokio::test]
async fn expired_unknown_and_incomplete_links_show_code_is_invalid() {
    let mock = MockServer::builder()
        .code_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let host = localhost(&mock);
    let link = new_link(&mock).await;
    let other = new_link(&mock).await;
    assert!(text(&get_page(&mock, &host, &path_of(&link), None).await).contains("btn-register"));
    mock.advance_clock(Duration::from_secs(61));
    assert!(mock.live_codes().is_empty(), "expired codes are not live");
    assert_code_invalid(&get_page(&mock, &host, &path_of(&link), None).await);
    let unknown = with_param(&other, "codeID", "123456789012345678");
    assert_code_invalid(&get_page(&mock, &host, &path_of(&unknown), None).await);
    for incomplete in [LOGIN_PATH.to_owned(), format!("{LOGIN_PATH}?userID=1")] {
        assert_code_invalid(&get_page(&mock, &host, &incomplete, None).await);
    }
}

#[tokio::test]
async fn removed_by_reset() {
    let mock = mock_with_user(false).await;
    let link = new_link(&mock).await;
    mock.reset();
    assert_code_invalid(&get_page(&mock, &localhost(&mock), &path_of(&link), None).await);
}

#[tokio::test]
async fn a_post_needs_the_csrf_token_of_its_cookie() {
    let mock = mock_with_user(false).await;
    let host = localhost(&mock);
    let link = new_link(&mock).await;
    let page = get_page(&mock, &host, &path_of(&link), None).await;
    let cookie = csrf_cookie(&page);
    let token = field(&text(&page), "gorilla.csrf.Token").unwrap();
    let mut form = form_of(&link);
    form.push(("credentialData".into(), "e30".into()));
    let pairs = |extra: Option<(&str, &str)>| {
        let mut pairs: Vec<(String, String)> = form.clone();
        if let Some((k, v)) = extra {
            pairs.push((k.to_owned(), v.to_owned()));
        }
        pairs
    };
    let other_token = URL_SAFE_NO_PAD.encode([7u8; 32]);
    for (token, cookie) in [
        (None, Some(cookie.as_str())),
        (Some(token.as_str()), None),
        (Some(other_token.as_str()), Some(cookie.as_str())),
    ] {
        let form = pairs(token.map(|t| ("gorilla.csrf.Token", t)));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let reply = post_form(&mock, &host, &form, cookie).await;
        assert_eq!(reply.status, 200);
        let html = text(&reply);
        assert!(
            html.contains("An internal error occurred") && html.contains("CSRF token invalid"),
            "{html}"
        );
    }
    assert_eq!(
        mock.live_codes()[0].failed_attempts,
        0,
        "refused before the code check"
    );
    assert!(passkeys(&mock).await.is_empty());
}

#[tokio::test]
async fn a_wrong_code_counts_on_post_and_a_bad_credential_disables_the_page() {
    let mock = mock_with_user(false).await;
    let host = localhost(&mock);
    let link = new_link(&mock).await;
    let page = get_page(&mock, &host, &path_of(&link), None).await;
    let cookie = csrf_cookie(&page);
    let token = field(&text(&page), "gorilla.csrf.Token").unwrap();
    let post = |code: String, credential: &'static str| {
        let mut form = form_of(&link);
        for pair in &mut form {
            if pair.0 == "code" {
                pair.1 = code.clone();
            }
        }
        form.push(("gorilla.csrf.Token".into(), token.clone()));
        form.push(("credentialData".into(), credential.into()));
        form.push(("name".into(), "key".into()));
        let (mock, host, cookie) = (&mock, host.clone(), cookie.clone());
        async move {
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post_form(mock, &host, &form, Some(&cookie)).await
        }
    };
    let right = link_params(&link)["code"].clone();
    assert_code_invalid(&post("AAAAAAAAAAAA".into(), "e30").await);
    assert_eq!(mock.live_codes()[0].failed_attempts, 1);
    // `{}` is no credential: the page shows why, without a form, and the code stays.
    let reply = post(right.clone(), "e30").await;
    let html = text(&reply);
    assert!(html.contains("MOCK-webauthn"), "{html}");
    assert_no_form(&html);
    assert_eq!(mock.live_codes().len(), 1);
    // The registration was verified once: posting again needs a new one (open the link).
    let html = text(&post(right, "e30").await);
    assert!(html.contains("open the link first"), "{html}");
    assert!(passkeys(&mock).await.is_empty());
}

#[tokio::test]
async fn without_the_shortcut_a_plain_form_registers_nothing() {
    let mock = mock_with_user(false).await;
    let link = new_link(&mock).await;
    let form = form_of(&link);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let html = text(&post_form(&mock, &localhost(&mock), &form, None).await);
    assert!(html.contains("CSRF token invalid"), "{html}");
    assert!(passkeys(&mock).await.is_empty());
    assert_eq!(mock.live_codes().len(), 1);
}

#[tokio::test]
async fn the_login_shortcut_registers_a_passkey_and_uses_the_code_up() {
    let mock = mock_with_user(true).await;
    let host = mock.local_addr().to_string();
    let link = new_link(&mock).await;
    let mut form = form_of(&link);
    // A wrong code counts as a wrong try here too.
    let mut wrong = form.clone();
    for pair in &mut wrong {
        if pair.0 == "code" {
            pair.1 = "x".into();
        }
    }
    let wrong: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_code_invalid(&post_form(&mock, &host, &wrong, None).await);
    assert_eq!(mock.live_codes()[0].failed_attempts, 1);
    form.push(("name".into(), "Pixel 8".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = post_form(&mock, &host, &form, None).await;
    assert_eq!(reply.status, 200);
    assert!(text(&reply).contains("Device for passwordless successfully added"));
    assert!(mock.live_codes().is_empty(), "the code is used up");
    assert_code_invalid(&post_form(&mock, &host, &form, None).await);
    let listed = passkeys(&mock).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1, "Pixel 8");
    assert_eq!(listed[0].2, 2, "READY");
    assert_id(&listed[0].0);
}
