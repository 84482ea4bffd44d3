//! `link --open`: hands the link to the default browser (the `webbrowser` crate), after it was
//! printed. Failing to open one is a note on stderr, never an error: the link exists and is on
//! stdout, and the call is never repeated.
//!
//! The link holds a one-time code, so nothing here puts it on stderr: the crate silences a
//! graphical browser's output, its own `log` records (which name the command line, link
//! included) are dropped from `--verbose`'s log ([`is_browser_log`]), and its error messages
//! are shown with the link cut out.

use std::ffi::OsString;

use crate::failure::{is_unsafe_char, sanitize};

/// Linux and the BSDs: a graphical browser needs an X11 or Wayland display there. Without one
/// the crate would still start a graphical browser in the background (one that dies unseen)
/// and report success, so [`open`] says so instead.
const NEEDS_DISPLAY: bool = cfg!(all(
    unix,
    not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "visionos",
        target_os = "android",
        target_os = "haiku",
    ))
));

/// Opens `url` in the default browser. `Err` is the one-line note for stderr when it did not.
pub(crate) fn open(url: &str) -> Result<(), String> {
    if !is_plain_web_link(url) {
        // A server's text: only a link that reads the same on the terminal and means the same
        // to the browser (no `file:`, `javascript:` or hidden characters) is handed on.
        return Err(
            "note: not opening the link in a browser: it is not a plain http:// or https:// URL"
                .to_owned(),
        );
    }
    let reason = match missing_display(|name| std::env::var_os(name)) {
        Some(reason) => reason.to_owned(),
        None => {
            let mut options = webbrowser::BrowserOptions::new();
            options.with_suppress_output(true);
            match webbrowser::open_browser_with_options(webbrowser::Browser::Default, url, &options)
            {
                Ok(()) => return Ok(()),
                Err(e) => error_reason(&e.to_string(), url),
            }
        }
    };
    Err(format!(
        "note: could not open a browser: {reason}; open the link above by hand"
    ))
}

/// Whether a `log` record (seen by `--verbose`'s subscriber through tracing-log) comes from the
/// browser crate, whose debug records show the browser's command line with the link in it.
pub(crate) fn is_browser_log(target: &str) -> bool {
    target
        .strip_prefix("webbrowser")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// An `http://` or `https://` URL with something after the scheme and no whitespace, control or
/// invisible characters (which the printed link shows as `?`).
fn is_plain_web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !url.chars().any(|c| c.is_whitespace() || is_unsafe_char(c))
}

/// Why no browser can be shown, known before trying: on Linux or a BSD, no display and no
/// `$BROWSER` (which may name a text browser, or a script, that needs none). WSL counts as
/// having one: the crate opens Windows's browser there.
fn missing_display(var: impl Fn(&str) -> Option<OsString>) -> Option<&'static str> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let has_one = [
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "BROWSER",
        "WSL_DISTRO_NAME",
        "WSL_INTEROP",
    ]
    .iter()
    .any(|name| set(name));
    (NEEDS_DISPLAY && !has_one).then_some(
        "no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set) and BROWSER is unset",
    )
}

/// The crate's error message for the note: one line, the link cut out, lower-case first letter
/// (it follows a colon).
fn error_reason(message: &str, url: &str) -> String {
    let message = message.replace(url, "<the link>");
    let message = sanitize(message.trim());
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first
            .to_lowercase()
            .chain(message.chars().skip(1))
            .collect(),
        (None, _) => "the browser crate gave no reason".to_owned(),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_web_links_are_opened() {
        for good in [
            "https://id.example.test/ui/login/login/passwordless/init?userID=1&codeID=2&code=x",
            "http://127.0.0.1:8080/ui/login",
            "HTTPS://EXAMPLE.COM/",
        ] {
            assert!(is_plain_web_link(good), "{good}");
        }
        for bad in [
            "",
            "https://",
            "http:/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "about:blank --remote-debugging-port=9222",
            "https://x.test/?code=abc\u{1b}[2J",
            "https://x.test/\u{202E}txt.exe",
            "https://x.test/ a",
            "/tmp/page.html",
        ] {
            assert!(!is_plain_web_link(bad), "{bad:?}");
        }
    }

    /// [`missing_display`] with these variables set.
    fn missing_with(vars: &[(&str, &str)]) -> Option<&'static str> {
        missing_display(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_display_check_trusts_any_display_or_browser() {
        assert_eq!(missing_with(&[]).is_some(), NEEDS_DISPLAY);
        assert_eq!(missing_with(&[("DISPLAY", "")]).is_some(), NEEDS_DISPLAY);
        for name in ["DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "WSL_DISTRO_NAME"] {
            assert_eq!(missing_with(&[(name, "x")]), None, "{name}");
        }
    }

    #[test]
    fn error_reasons_never_show_the_link() {
        let url = "https://x.test/init?code=SECRET";
        assert_eq!(
            error_reason(&format!("cannot run firefox {url}\nagain"), url),
            "cannot run firefox <the link>?again"
        );
        assert_eq!(
            error_reason("No valid browsers detected", url),
            "no valid browsers detected"
        );
        assert_eq!(error_reason("BROWSER failed", url), "BROWSER failed");
        assert_eq!(error_reason("", url), "the browser crate gave no reason");
    }

    #[test]
    fn the_browser_crates_log_targets_are_recognised() {
        assert!(is_browser_log("webbrowser"));
        assert!(is_browser_log("webbrowser::common"));
        assert!(!is_browser_log("webbrowsers"));
        assert!(!is_browser_log("zitadel_passkey"));
    }
}
