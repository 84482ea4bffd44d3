//! The login page a link points to: `GET /ui/login/login/passwordless/init?userID=..&orgID=..&codeID=..&code=..`.
//!
//! | condition | status |
//! |---|---|
//! | a parameter missing, or `requestPlatformType` not `platform`, `crossPlatform` or `unspecified` | 400 |
//! | no live code with that `codeID` (never created, removed after 3 wrong tries, or reset) | 404 |
//! | the code expired (it is removed) | 410 |
//! | `code`, `userID` or `orgID` wrong (one wrong try; the third removes the code) | 400 |
//! | all right | 200, a small HTML page |

use std::sync::Arc;

use axum::Router;
use axum::extract::RawQuery;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

use crate::state::{MAX_CODE_ATTEMPTS, Shared};

/// The login page's path.
pub const LOGIN_PATH: &str = "/ui/login/login/passwordless/init";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route(
        LOGIN_PATH,
        get(move |RawQuery(query): RawQuery| async move { page(&shared, query.as_deref()) }),
    )
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn html(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>\n",
        title = escape(title),
        text = escape(text)
    );
    (status, Html(body)).into_response()
}

fn page(shared: &Shared, query: Option<&str>) -> Response {
    let (mut user_id, mut org_id, mut code_id, mut code, mut platform) =
        (None, None, None, None, None);
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "userID" => user_id = Some(value.into_owned()),
            "orgID" => org_id = Some(value.into_owned()),
            "codeID" => code_id = Some(value.into_owned()),
            "code" => code = Some(value.into_owned()),
            "requestPlatformType" => platform = Some(value.into_owned()),
            _ => {}
        }
    }
    let (Some(user_id), Some(org_id), Some(code_id), Some(code)) = (user_id, org_id, code_id, code)
    else {
        return html(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "userID, orgID, codeID and code are required.",
        );
    };
    if let Some(platform) = platform
        && !matches!(
            platform.as_str(),
            "platform" | "crossPlatform" | "unspecified"
        )
    {
        return html(
            StatusCode::BAD_REQUEST,
            "Invalid link",
            "requestPlatformType must be platform, crossPlatform or unspecified.",
        );
    }
    let now = shared.clock.now();
    let mut state = shared.state();
    let Some(live) = state.codes.get_mut(&code_id) else {
        return html(
            StatusCode::NOT_FOUND,
            "Code not found",
            "This link is not valid (any more).",
        );
    };
    if live.expires <= now {
        state.remove_code(&code_id);
        return html(StatusCode::GONE, "Code expired", "This link has expired.");
    }
    if live.code != code || live.user_id != user_id || live.org_id != org_id {
        live.failed_attempts += 1;
        let left = MAX_CODE_ATTEMPTS.saturating_sub(live.failed_attempts);
        if left == 0 {
            state.remove_code(&code_id);
        }
        return html(
            StatusCode::BAD_REQUEST,
            "Code invalid",
            &format!("The code is not valid. Tries left: {left}."),
        );
    }
    let user = live.user_id.clone();
    drop(state);
    html(
        StatusCode::OK,
        "Set up a passkey",
        &format!("Register a passkey for user {user}."),
    )
}
