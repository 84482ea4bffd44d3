//! The login page's HTML: the registration page (with or without its form), the end page and
//! the error page. Written for the mock; the texts a user (or a test) reads are ZITADEL's
//! English ones. Every value put into the page is escaped.

use axum::response::{Html, IntoResponse, Response};
use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderValue, StatusCode};

use super::LOGIN_PATH;

/// The name of the form field with the CSRF token (ZITADEL's CSRF library uses this one).
pub(crate) const CSRF_FIELD: &str = "gorilla.csrf.Token";
/// The cookie the CSRF token is checked against.
pub(crate) const CSRF_COOKIE: &str = "zitadel.csrf";

/// The page's script: runs the WebAuthn ceremony in the browser and posts its result.
const SCRIPT: &str = include_str!("register.js");

/// An error shown on a page: ZITADEL's error ID and its English message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageError {
    pub id: &'static str,
    pub message: String,
}

impl PageError {
    /// `COMMAND-Dhz8i`: wrong, unknown, expired or used code (also a link missing a parameter).
    pub(crate) fn code_invalid() -> Self {
        Self {
            id: "COMMAND-Dhz8i",
            message: "Code is invalid".to_owned(),
        }
    }
}

/// What the registration page holds: the link's parameters, the ceremony's options (none when
/// the form is disabled) and the error to show.
#[derive(Debug, Default)]
pub(crate) struct Registration<'a> {
    pub user_id: &'a str,
    pub org_id: &'a str,
    pub code_id: &'a str,
    pub code: &'a str,
    pub platform: &'a str,
    /// base64url of the creation options' JSON; `None` hides the name field and the button
    /// (ZITADEL's "disabled" page: the link cannot be used from here).
    pub creation_options: Option<String>,
    pub csrf: &'a str,
    pub error: Option<PageError>,
    /// A link below the error (the mock's own: the same page on a usable origin).
    pub hint: Option<Hint>,
}

/// A sentence and the link it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hint {
    pub text: String,
    pub link: Option<String>,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.6rem}label{display:block;margin:1rem 0 .3rem}input[type=text]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem}.lgn-error{color:#b00020}.error-id{font-family:monospace}";

/// A whole page, always HTTP 200: ZITADEL's login renderer sets no status, errors included.
/// (The `/device` page of [`crate::oauth`] is built on it too.)
pub(crate) fn document(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        title = escape(title),
    );
    let mut response = (StatusCode::OK, Html(html)).into_response();
    // The page holds a one-time code and a CSRF token.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_block(error: &PageError) -> String {
    format!(
        "<div id=\"error\" class=\"lgn-error\" role=\"alert\"><span class=\"error-message\">{}</span> \
         (<span class=\"error-id\">{}</span>)</div>",
        escape(&error.message),
        escape(error.id),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// The registration page ("Passwordless setup"). With creation options it has the name field,
/// the button and the script; without, only the error.
pub(crate) fn registration(page: &Registration<'_>) -> Response {
    let mut body = String::from(
        "<h1>Passwordless setup</h1><p class=\"description\">Give this device a name, then press \
         <em>Register passwordless</em> and follow your browser to create a passkey.</p>",
    );
    body.push_str(&format!(
        "<form id=\"registration\" method=\"POST\" action=\"{LOGIN_PATH}\">"
    ));
    for (name, value) in [
        (CSRF_FIELD, page.csrf),
        ("userID", page.user_id),
        ("orgID", page.org_id),
        ("codeID", page.code_id),
        ("code", page.code),
        ("requestPlatformType", page.platform),
        (
            "credentialCreationData",
            page.creation_options.as_deref().unwrap_or_default(),
        ),
        ("credentialData", ""),
    ] {
        body.push_str(&hidden(name, value));
    }
    let enabled = page.creation_options.is_some();
    body.push_str(
        "<p class=\"wa-no-support lgn-error\" hidden>This browser cannot create passkeys here \
         (WebAuthn needs a secure context: https, or http on localhost).</p>",
    );
    if enabled {
        body.push_str(
            "<label for=\"name\">Name of the device</label>\
             <input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"off\" autofocus>",
        );
    }
    body.push_str(
        "<div id=\"wa-error\" class=\"lgn-error\" hidden><span class=\"cause\"></span> \
         <span>Try again, or open the link again for a new challenge.</span></div>",
    );
    if let Some(error) = &page.error {
        body.push_str(&error_block(error));
    }
    if let Some(hint) = &page.hint {
        body.push_str(&format!("<p id=\"hint\">{}", escape(&hint.text)));
        if let Some(link) = &hint.link {
            body.push_str(&format!(
                " <a href=\"{}\">{}</a>",
                escape(link),
                escape(link)
            ));
        }
        body.push_str("</p>");
    }
    if enabled {
        body.push_str("<button type=\"submit\" id=\"btn-register\">Register passwordless</button>");
    }
    body.push_str("</form>");
    if enabled {
        body.push_str("<script>");
        body.push_str(SCRIPT);
        body.push_str("</script>");
    }
    let mut response = document("Passwordless setup", &body);
    if !page.csrf.is_empty() {
        let cookie = format!(
            "{CSRF_COOKIE}={}; Path=/ui/login; HttpOnly; SameSite=Lax",
            page.csrf
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(SET_COOKIE, value);
        }
    }
    response
}

/// The end page after a registration.
pub(crate) fn done() -> Response {
    document(
        "Passwordless set up",
        "<h1>Passwordless set up</h1><p class=\"description\">Device for passwordless \
         successfully added</p><p>You can now close this window.</p>",
    )
}

/// ZITADEL's internal error page (what a failed CSRF check shows).
pub(crate) fn internal_error(message: &str) -> Response {
    document(
        "Error",
        &format!(
            "<h1>An internal error occurred</h1><div id=\"error\" class=\"lgn-error\" role=\"alert\">\
             <span class=\"error-message\">{}</span></div>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
