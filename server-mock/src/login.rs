//! The login page a link points to: `GET /ui/login/login/passwordless/init?userID=..&orgID=..&codeID=..&code=..`.
//!
//! | condition | status |
//! |---|---|
//! | a parameter missing, or `requestPlatformType` not `platform`, `crossPlatform` or `unspecified` | 400 |
//! | no live code with that `codeID` (never created, removed after 3 wrong tries, used, or reset) | 404 |
//! | the code expired (it is removed) | 410 |
//! | `code`, `userID` or `orgID` wrong (one wrong try; the third removes the code) | 400 |
//! | all right | 200, a small HTML page with a form to register a passkey |
//!
//! A real login page then runs a WebAuthn ceremony in the browser. The mock stands in for it with
//! `POST` to the same path (form fields `userID`, `orgID`, `codeID`, `code` and an optional
//! `name`): the same checks, then the user gets a READY passkey named `name` (default `passkey`),
//! the user's sequence grows and the code is used up. So a test can follow a link to the end and
//! see the new passkey in ListMyPasswordless.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

use crate::codes::MAX_CODE_ATTEMPTS;
use crate::state::Shared;

/// The login page's path.
pub const LOGIN_PATH: &str = "/ui/login/login/passwordless/init";

/// The login page's routes (the caller supplies the state).
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route(LOGIN_PATH, get(open_link).post(register))
}

/// `GET`: the link as opened in a browser.
async fn open_link(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    page(
        &shared,
        query.as_deref().unwrap_or_default().as_bytes(),
        false,
    )
}

/// `POST`: the page's form, standing in for the WebAuthn ceremony.
async fn register(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    page(&shared, &body, true)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, title: &str, text: &str, form: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p>{form}</body></html>\n",
        title = escape(title),
        text = escape(text),
    );
    (status, Html(body)).into_response()
}

fn refuse(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, title, text, "")
}

/// The parameters of a link (query string on GET, form body on POST).
#[derive(Default)]
struct Params {
    user_id: Option<String>,
    org_id: Option<String>,
    code_id: Option<String>,
    code: Option<String>,
    platform: Option<String>,
    name: Option<String>,
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
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        params
    }
}

fn page(shared: &Shared, input: &[u8], register: bool) -> Response {
    let params = Params::parse(input);
    let (Some(user_id), Some(org_id), Some(code_id), Some(code)) =
        (params.user_id, params.org_id, params.code_id, params.code)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "userID, orgID, codeID and code are required.",
        );
    };
    if let Some(platform) = &params.platform
        && !matches!(
            platform.as_str(),
            "platform" | "crossPlatform" | "unspecified"
        )
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "requestPlatformType must be platform, crossPlatform or unspecified.",
        );
    }
    let now = shared.clock.now();
    let mut state = shared.state();
    let Some(live) = state.codes.get_mut(&code_id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "Code not found",
            "This link is not valid (any more).",
        );
    };
    if live.expires <= now {
        state.codes.remove(&code_id);
        return refuse(StatusCode::GONE, "Code expired", "This link has expired.");
    }
    if live.code != code || live.user_id != user_id || live.org_id != org_id {
        live.failed_attempts += 1;
        let left = MAX_CODE_ATTEMPTS.saturating_sub(live.failed_attempts);
        if left == 0 {
            state.codes.remove(&code_id);
        }
        return refuse(
            StatusCode::BAD_REQUEST,
            "Code invalid",
            &format!("The code is not valid. Tries left: {left}."),
        );
    }
    if !register {
        drop(state);
        // The form posts the link's parameters back; the code is the one just checked.
        let mut form = String::from("<form method=\"post\">");
        for (key, value) in [
            ("userID", &user_id),
            ("orgID", &org_id),
            ("codeID", &code_id),
            ("code", &code),
        ] {
            form.push_str(&format!(
                "<input type=\"hidden\" name=\"{key}\" value=\"{}\">",
                escape(value)
            ));
        }
        form.push_str(
            "<label>Name <input name=\"name\" value=\"passkey\"></label>\
             <button type=\"submit\">Register passkey</button></form>",
        );
        return html(
            StatusCode::OK,
            "Set up a passkey",
            &format!("Register a passkey for user {user_id}."),
            &form,
        );
    }
    state.codes.remove(&code_id);
    drop(state);
    let name = params
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "passkey".to_owned());
    let id = shared.add_passkey(&user_id, &name);
    refuse(
        StatusCode::OK,
        "Passkey registered",
        &format!("Passkey {name} ({id}) is ready."),
    )
}
