//! The login page a link points to: `/ui/login/login/passwordless/init?userID&orgID&codeID&code[&requestPlatformType]`,
//! where the user registers a passkey with a real WebAuthn ceremony, verified by the mock.
//!
//! Every answer is HTTP 200 with an HTML page, errors included: ZITADEL's login renderer sets no
//! status.
//!
//! | request | condition | page |
//! |---|---|---|
//! | `GET` | a parameter missing; `codeID` unknown, used, removed or expired; `code`, `userID` or `orgID` wrong | "Passwordless setup" with "Code is invalid" (`COMMAND-Dhz8i`), no name field, no button |
//! | `GET` | the link is right, its origin's host is a domain (`localhost` is one) | "Passwordless setup": a "Name of the device" field, a "Register passwordless" button, the creation options and a CSRF token (also set as the `zitadel.csrf` cookie); the code is not used up |
//! | `GET` | the link is right, its origin's host is an IP address | the same page without field and button, and a link to the page on `localhost` (the mock's own hint: an IP address cannot be a WebAuthn RP ID) |
//! | `POST` | the CSRF field does not match the `zitadel.csrf` cookie | ZITADEL's internal error page, "CSRF token invalid" |
//! | `POST` | the code is wrong (as on `GET`) | "Code is invalid", as on `GET` |
//! | `POST` | no registration begun for the code, or the credential does not verify, or the authenticator is already registered | "Passwordless setup" with the error, no field and no button; the code stays; opening the link again begins anew |
//! | `POST` | the credential verifies | "Passwordless set up / Device for passwordless successfully added / You can now close this window."; the user has a READY passkey with the name given (`passkey` if none), the code is used up |
//! | `POST` | `--login-shortcut`, no `credentialData` field | no CSRF check and no ceremony: after the code check, the user gets a READY passkey and the end page (the mock's own extension, for tests without a browser) |
//!
//! Each wrong try of a live code counts, on `GET` and `POST` alike; the third removes the code.
//!
//! `GET` begins a registration like ZITADEL's: a fresh challenge, RP ID = the host of the link's
//! origin (the request's, or `--public-origin`), the user's passkeys excluded, user verification
//! required, no attestation, the authenticator attachment from `requestPlatformType`
//! (`platform`/`1`, `crossPlatform`/`2`, anything else unspecified). The page's script hands the
//! options to `navigator.credentials.create()` and posts the new credential back as base64url
//! JSON (`id`, `rawId`, `type`, `response.attestationObject`, `response.clientDataJSON`) in
//! `credentialData`, with the link's parameters and `name`. The `POST` checks the code again,
//! verifies the registration (origin, RP ID hash, challenge, user presence and verification,
//! signature) with `webauthn-rs`, and refuses a credential ID that is already registered.
//! As on ZITADEL, a failed verification leaves the page without a form: only opening the link
//! again begins a new registration (a fresh challenge).

mod ceremony;
mod page;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use http::header::{COOKIE, HOST};
use http::{HeaderMap, Request};
use url::Url;

pub(crate) use ceremony::Ceremony;
use ceremony::{Attachment, CeremonyError};
use page::{CSRF_COOKIE, CSRF_FIELD, Hint, PageError, Registration};
/// The page frame and escaping, shared with the `/device` page of [`crate::oauth`].
pub(crate) use page::{document, escape};

use crate::behaviour::Origin;
use crate::codes::MAX_CODE_ATTEMPTS;
use crate::state::{Shared, State as MockState};

/// The login page's path.
pub const LOGIN_PATH: &str = "/ui/login/login/passwordless/init";
/// Where the login UI lives (requests under it learn their origin).
pub(crate) const LOGIN_PREFIX: &str = "/ui/login/";

/// The name a passkey gets when the form gives none.
const DEFAULT_NAME: &str = "passkey";

/// The login page's routes (the caller supplies the state).
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route(LOGIN_PATH, get(open_link).post(submit))
}

/// The fields of the link (query string) and of the page's form.
#[derive(Default)]
struct Params {
    user_id: Option<String>,
    org_id: Option<String>,
    code_id: Option<String>,
    code: Option<String>,
    platform: Option<String>,
    name: Option<String>,
    credential: Option<String>,
    csrf: Option<String>,
}

impl Params {
    fn parse(input: &[u8]) -> Self {
        let mut params = Params::default();
        for (key, value) in url::form_urlencoded::parse(input) {
            let slot = match key.as_ref() {
                "userID" => &mut params.user_id,
                "orgID" => &mut params.org_id,
                "codeID" => &mut params.code_id,
                "code" => &mut params.code,
                "requestPlatformType" => &mut params.platform,
                "name" => &mut params.name,
                "credentialData" => &mut params.credential,
                CSRF_FIELD => &mut params.csrf,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        params
    }

    fn attachment(&self) -> Attachment {
        Attachment::parse(self.platform.as_deref())
    }

    /// The registration page for these parameters, without options (the form disabled).
    fn page<'a>(&'a self, error: Option<PageError>) -> Registration<'a> {
        Registration {
            user_id: self.user_id.as_deref().unwrap_or_default(),
            org_id: self.org_id.as_deref().unwrap_or_default(),
            code_id: self.code_id.as_deref().unwrap_or_default(),
            code: self.code.as_deref().unwrap_or_default(),
            platform: self.attachment().as_str(),
            error,
            ..Registration::default()
        }
    }
}

/// The live code a link names, once its parameters are right.
struct CheckedCode {
    user_id: String,
    code_id: String,
}

/// Checks the link's code without using it up. A wrong `code`, `userID` or `orgID` for a live
/// code counts as a wrong try, and the third removes the code; an expired code is removed.
fn check_code(
    state: &mut MockState,
    now: SystemTime,
    params: &Params,
) -> Result<CheckedCode, PageError> {
    let (Some(user_id), Some(org_id), Some(code_id), Some(code)) = (
        &params.user_id,
        &params.org_id,
        &params.code_id,
        &params.code,
    ) else {
        return Err(PageError::code_invalid());
    };
    let Some(live) = state.codes.get_mut(code_id) else {
        return Err(PageError::code_invalid());
    };
    if live.expires <= now {
        state.codes.remove(code_id);
        return Err(PageError::code_invalid());
    }
    if !live.is_for(code, user_id, org_id) {
        live.failed_attempts += 1;
        if live.failed_attempts >= MAX_CODE_ATTEMPTS {
            state.codes.remove(code_id);
        }
        return Err(PageError::code_invalid());
    }
    Ok(CheckedCode {
        user_id: user_id.clone(),
        code_id: code_id.clone(),
    })
}

/// The origin the page was opened on (that of its links), as a URL.
fn page_origin(request_origin: Option<&Origin>, headers: &HeaderMap) -> Option<Url> {
    let mut text = String::new();
    match request_origin {
        Some(origin) => origin.write(&mut text),
        None => {
            text.push_str("http://");
            text.push_str(headers.get(HOST)?.to_str().ok()?);
        }
    }
    Url::parse(&text).ok()
}

/// The CSRF token of the request's `zitadel.csrf` cookie, if it has a well-formed one.
fn csrf_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CSRF_COOKIE)
        .map(|(_, token)| token)
        .filter(|token| token.len() == 43 && token.bytes().all(is_base64url))
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// A new CSRF token: 32 random bytes, base64url.
fn new_csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// `GET`: the link as opened in a browser. Checks the code and begins a registration.
async fn open_link(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let params = Params::parse(request.uri().query().unwrap_or_default().as_bytes());
    let origin = page_origin(request.extensions().get::<Origin>(), request.headers());
    // One token per browser: a second tab keeps the first tab's form valid.
    let csrf = csrf_cookie(request.headers()).map_or_else(new_csrf_token, str::to_owned);
    begin(&shared, &params, origin, &csrf)
}

/// Checks the link and begins a registration: the page with the form, or without it and why.
fn begin(shared: &Shared, params: &Params, origin: Option<Url>, csrf: &str) -> Response {
    let now = shared.clock.now();
    let mut state = shared.state();
    let checked = match check_code(&mut state, now, params) {
        Ok(checked) => checked,
        Err(error) => return page::registration(&params.page(Some(error))),
    };
    let exclude: Vec<Vec<u8>> = state
        .users
        .passkeys(&checked.user_id)
        .iter()
        .filter_map(|p| p.credential_id.as_deref())
        .filter_map(|id| URL_SAFE_NO_PAD.decode(id).ok())
        .collect();
    let begun = match &origin {
        Some(origin) => ceremony::begin(origin, &checked.user_id, exclude, params.attachment()),
        None => Err(CeremonyError::NoDomain),
    };
    match begun {
        Ok((options, ceremony)) => {
            state.codes.begin_ceremony(&checked.code_id, ceremony);
            drop(state);
            page::registration(&Registration {
                creation_options: Some(URL_SAFE_NO_PAD.encode(options)),
                csrf,
                ..params.page(None)
            })
        }
        Err(error) => {
            drop(state);
            let mut page = params.page(Some(ceremony_error(&error)));
            page.hint = origin
                .as_ref()
                .and_then(|origin| localhost_hint(origin, params));
            page::registration(&page)
        }
    }
}

/// The page's error for a ceremony that could not begin or did not verify (the mock's own IDs:
/// ZITADEL always runs on a domain, and its verification errors name its own library).
fn ceremony_error(error: &CeremonyError) -> PageError {
    match error {
        CeremonyError::NoDomain => PageError {
            id: "MOCK-rpid",
            message: "WebAuthn needs a host name, not an IP address, as the relying party ID"
                .to_owned(),
        },
        CeremonyError::Rejected(reason) => PageError {
            id: "MOCK-webauthn",
            message: format!("The passkey could not be registered: {reason}"),
        },
    }
}

/// For a page opened on a loopback IP address: the same link on `localhost`.
fn localhost_hint(origin: &Url, params: &Params) -> Option<Hint> {
    let loopback = match origin.host()? {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(_) => false,
    };
    if !loopback {
        return Some(Hint {
            text: "Start the mock with --public-origin set to a URL with a host name, then \
                   create a new link."
                .to_owned(),
            link: None,
        });
    }
    let mut link = origin.clone();
    link.set_host(Some("localhost")).ok()?;
    link.set_path(LOGIN_PATH);
    {
        let mut query = link.query_pairs_mut();
        for (key, value) in [
            ("userID", &params.user_id),
            ("orgID", &params.org_id),
            ("codeID", &params.code_id),
            ("code", &params.code),
        ] {
            query.append_pair(key, value.as_deref().unwrap_or_default());
        }
        if let Some(platform) = &params.platform {
            query.append_pair("requestPlatformType", platform);
        }
    }
    Some(Hint {
        text: "Open this page on localhost instead:".to_owned(),
        link: Some(link.into()),
    })
}

/// `POST`: the page's form with the new credential (or, with `--login-shortcut`, without one).
async fn submit(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = match crate::rest::read_body(body).await {
        Ok(body) => body,
        Err(_) => return page::internal_error("the form could not be read"),
    };
    let params = Params::parse(&body);
    if params.credential.is_none() && shared.config.login_shortcut {
        return shortcut(&shared, &params);
    }
    let csrf_matches = matches!(
        (csrf_cookie(&parts.headers), &params.csrf),
        (Some(cookie), Some(field)) if cookie == field
    );
    if !csrf_matches {
        return page::internal_error("CSRF token invalid");
    }
    let now = shared.clock.now();
    let (checked, ceremony) = {
        let mut state = shared.state();
        match check_code(&mut state, now, &params) {
            Ok(checked) => {
                let ceremony = state.codes.take_ceremony(&checked.code_id);
                (checked, ceremony)
            }
            Err(error) => return page::registration(&params.page(Some(error))),
        }
    };
    let Some(ceremony) = ceremony else {
        return page::registration(&params.page(Some(ceremony_error(&CeremonyError::Rejected(
            "no registration was begun for this code: open the link first".to_owned(),
        )))));
    };
    // Verified outside the lock: a signature check is the slowest thing the mock does.
    let registered = decode_credential(params.credential.as_deref().unwrap_or_default())
        .and_then(|json| ceremony::finish(&ceremony, &json));
    let registered = match registered {
        Ok(registered) => registered,
        Err(error) => return page::registration(&params.page(Some(ceremony_error(&error)))),
    };
    let credential_id = URL_SAFE_NO_PAD.encode(&registered.credential_id);
    let mut state = shared.state();
    // The code may have been used or removed while the credential was verified.
    if state.codes.get_mut(&checked.code_id).is_none() {
        return page::registration(&params.page(Some(PageError::code_invalid())));
    }
    if state.users.has_credential(&credential_id) {
        drop(state);
        return page::registration(&params.page(Some(ceremony_error(&CeremonyError::Rejected(
            "this authenticator is already registered".to_owned(),
        )))));
    }
    state.codes.remove(&checked.code_id);
    let id = state.ids.new_id();
    let name = passkey_name(&params);
    state
        .users
        .add_passkey(&checked.user_id, id, name, Some(credential_id));
    drop(state);
    page::done()
}

/// The login shortcut: the code check, then a READY passkey without a ceremony.
fn shortcut(shared: &Shared, params: &Params) -> Response {
    let now = shared.clock.now();
    let mut state = shared.state();
    let checked = match check_code(&mut state, now, params) {
        Ok(checked) => checked,
        Err(error) => {
            drop(state);
            return page::registration(&params.page(Some(error)));
        }
    };
    state.codes.remove(&checked.code_id);
    let id = state.ids.new_id();
    state
        .users
        .add_passkey(&checked.user_id, id, passkey_name(params), None);
    drop(state);
    page::done()
}

fn passkey_name(params: &Params) -> &str {
    params
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(DEFAULT_NAME)
}

/// `credentialData`: base64 of the credential's JSON, in either alphabet, padded or not.
fn decode_credential(text: &str) -> Result<Vec<u8>, CeremonyError> {
    let trimmed = text.trim().trim_end_matches('=');
    let decoded = if trimmed.contains(['+', '/']) {
        STANDARD_NO_PAD.decode(trimmed)
    } else {
        URL_SAFE_NO_PAD.decode(trimmed)
    };
    decoded.map_err(|_| {
        CeremonyError::Rejected("credentialData is not base64 of the credential's JSON".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_data_in_every_base64_spelling() {
        let json = br#"{"id":"a?b>"}"#;
        for text in [
            URL_SAFE_NO_PAD.encode(json),
            base64::engine::general_purpose::URL_SAFE.encode(json),
            base64::engine::general_purpose::STANDARD.encode(json),
        ] {
            assert_eq!(
                decode_credential(&text).ok().as_deref(),
                Some(&json[..]),
                "{text}"
            );
        }
        assert!(decode_credential("!!").is_err());
    }

    #[test]
    fn the_csrf_cookie_is_read_among_others() {
        let token = new_csrf_token();
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "a=b".parse().unwrap_or_else(|_| unreachable!()));
        let both = format!("x=1; {CSRF_COOKIE}={token}");
        headers.append(COOKIE, both.parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(csrf_cookie(&headers), Some(token.as_str()));
        let mut bad = HeaderMap::new();
        bad.insert(
            COOKIE,
            format!("{CSRF_COOKIE}=short")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(csrf_cookie(&bad), None);
    }
}
