//! The `/device` page (`verification_uri`): the person enters the user code and the user to
//! sign in as, and presses Allow or Deny. Every page is HTTP 200, errors included, as ZITADEL's
//! login UI answers, and every value on it is escaped.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;

use super::DEVICE_PAGE_PATH;
use super::devices::{DeviceError, DeviceStatus, PendingDevice};
use super::form::Form;
use crate::login::{document, escape};
use crate::state::Shared;

/// An error shown on the form: the mock's own ID (ZITADEL's page is not part of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageError {
    id: &'static str,
    message: &'static str,
}

const CODE_INVALID: PageError = PageError {
    id: "MOCK-dev01",
    message: "The user code is invalid or has expired",
};
const USER_MISSING: PageError = PageError {
    id: "MOCK-dev02",
    message: "Enter the ID of the user to sign in as",
};
const NO_ACTION: PageError = PageError {
    id: "MOCK-dev03",
    message: "Press Allow or Deny",
};

/// What the form shows.
#[derive(Debug, Default)]
struct Entry<'a> {
    user_code: &'a str,
    user_id: &'a str,
    /// The authorization the code names, shown above the buttons.
    request: Option<PendingDevice>,
    error: Option<PageError>,
}

/// `GET /device[?user_code=..]`.
pub(crate) async fn open(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default();
    // A query that is not a well-formed form is a page without a code.
    let params = Form::parse(query.as_bytes()).unwrap_or_default();
    let user_code = params.get("user_code").unwrap_or_default();
    let user_id = shared.default_approver();
    let mut entry = Entry {
        user_code,
        user_id: &user_id,
        ..Entry::default()
    };
    if !user_code.is_empty() {
        entry.request = undecided(&shared, user_code);
        if entry.request.is_none() {
            entry.error = Some(CODE_INVALID);
        }
    }
    form(&entry)
}

/// `POST /device` with `user_code`, `user_id` and `action` (`allow` or `deny`).
pub(crate) async fn submit(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let body = match crate::rest::read_body(request.into_body()).await {
        Ok(body) => body,
        Err(_) => return form(&Entry::default()),
    };
    let params = Form::parse(&body).unwrap_or_default();
    let user_code = params.get("user_code").unwrap_or_default().trim();
    let user_id = params.get("user_id").unwrap_or_default().trim();
    let entry = Entry {
        user_code,
        user_id,
        ..Entry::default()
    };
    let allow = match params.get("action") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return with_error(&shared, entry, NO_ACTION),
    };
    if undecided(&shared, user_code).is_none() {
        return with_error(&shared, entry, CODE_INVALID);
    }
    if allow && user_id.is_empty() {
        return with_error(&shared, entry, USER_MISSING);
    }
    let decided = if allow {
        shared.approve_device(user_code, Some(user_id), None)
    } else {
        shared.deny_device(user_code)
    };
    match decided {
        Ok(device) => decided_page(&device),
        Err(DeviceError::EmptyUserId) => with_error(&shared, entry, USER_MISSING),
        Err(_) => with_error(&shared, entry, CODE_INVALID),
    }
}

/// The authorization a code names, if it can still be decided.
fn undecided(shared: &Shared, user_code: &str) -> Option<PendingDevice> {
    let now = shared.clock.now();
    shared.state().oauth.devices.undecided(user_code, now)
}

fn with_error(shared: &Shared, mut entry: Entry<'_>, error: PageError) -> Response {
    entry.error = Some(error);
    if error != CODE_INVALID {
        entry.request = undecided(shared, entry.user_code);
    }
    form(&entry)
}

fn form(entry: &Entry<'_>) -> Response {
    let mut body = String::from(
        "<h1>Device Authorization</h1><p class=\"description\">Enter the code shown on your \
         device and the ID of the user to sign in as, then allow or deny the sign-in.</p>",
    );
    if let Some(request) = &entry.request {
        body.push_str(&format!(
            "<div id=\"request\"><p>The client <strong class=\"client-id\">{}</strong> asks for:</p><ul class=\"scopes\">",
            escape(&request.client_id)
        ));
        for scope in &request.scopes {
            body.push_str(&format!("<li>{}</li>", escape(scope)));
        }
        body.push_str("</ul></div>");
    }
    body.push_str(&format!(
        "<form id=\"device\" method=\"POST\" action=\"{DEVICE_PAGE_PATH}\">\
         <label for=\"user_code\">Code</label>\
         <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" autocapitalize=\"characters\" autofocus>\
         <label for=\"user_id\">User ID</label>\
         <input type=\"text\" id=\"user_id\" name=\"user_id\" value=\"{}\" autocomplete=\"off\">",
        escape(entry.user_code),
        escape(entry.user_id),
    ));
    if let Some(error) = entry.error {
        body.push_str(&format!(
            "<div id=\"error\" class=\"lgn-error\" role=\"alert\"><span class=\"error-message\">{}</span> \
             (<span class=\"error-id\">{}</span>)</div>",
            escape(error.message),
            escape(error.id),
        ));
    }
    body.push_str(
        "<button type=\"submit\" name=\"action\" value=\"allow\" id=\"btn-allow\">Allow</button> \
         <button type=\"submit\" name=\"action\" value=\"deny\" id=\"btn-deny\">Deny</button></form>\
         <p class=\"note\">The mock has no passwords: whoever allows chooses the user.</p>",
    );
    document("Device Authorization", &body)
}

fn decided_page(device: &PendingDevice) -> Response {
    match device.status {
        DeviceStatus::Approved => document(
            "Device authorization approved",
            &format!(
                "<h1>Device authorization approved</h1><p class=\"description\">The client \
                 <strong class=\"client-id\">{}</strong> is signed in as the user \
                 <strong class=\"user-id\">{}</strong> of the organization \
                 <strong class=\"org-id\">{}</strong>.</p><p>You can close this window and go \
                 back to your device.</p>",
                escape(&device.client_id),
                escape(device.user_id.as_deref().unwrap_or_default()),
                escape(device.org_id.as_deref().unwrap_or_default()),
            ),
        ),
        _ => document(
            "Device authorization denied",
            &format!(
                "<h1>Device authorization denied</h1><p class=\"description\">The client \
                 <strong class=\"client-id\">{}</strong> is not signed in.</p><p>You can close \
                 this window.</p>",
                escape(&device.client_id),
            ),
        ),
    }
}
