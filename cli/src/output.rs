//! What goes on stdout: text for people, or the response as canonical proto3 JSON.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;
use zitadel_passkey::{ObjectDetails, Passkey, PasskeyLink};

use crate::failure::{is_unsafe_char, sanitize};
use crate::qr::{Qr, Style};

/// The response as canonical proto3 JSON (the pbjson serde of the generated message), one line.
pub(crate) fn json<T: Serialize>(response: &T) -> Result<String, String> {
    let mut text = serde_json::to_string(response)
        .map_err(|e| format!("the response cannot be written as JSON: {e}"))?;
    text.push('\n');
    Ok(text)
}

/// `details` as the response carried it: an all-default message was most likely absent.
pub(crate) fn details_field(details: ObjectDetails) -> Option<ObjectDetails> {
    (details != ObjectDetails::default()).then_some(details)
}

/// The link for people: the URL, when it expires, and the QR code (unless `qr` is `None`).
pub(crate) fn link_text(link: &PasskeyLink, qr: Option<(&Qr, Style)>, offset: UtcOffset) -> String {
    let mut out = String::new();
    let who = match (link.user_id(), link.org_id()) {
        ("", _) => String::new(),
        (user, "") => format!(" for user {}", sanitize(user)),
        (user, org) => format!(
            " for user {} (organisation {})",
            sanitize(user),
            sanitize(org)
        ),
    };
    let _ = writeln!(out, "Passkey registration link{who}:");
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", sanitize_link(link.url()));
    let _ = writeln!(out);
    match link.expires_at() {
        Some(at) => {
            let _ = writeln!(
                out,
                "Expires {} (in {}). It works once.",
                local_time(at, offset),
                in_words(link.expires_in())
            );
        }
        None => {
            let _ = writeln!(
                out,
                "The server did not say when it expires. It works once."
            );
        }
    }
    if let Some((qr, style)) = qr {
        let _ = writeln!(
            out,
            "Open it on the device that should get the passkey, or scan this QR code with it:"
        );
        let _ = writeln!(out);
        out.push_str(&qr.terminal(style));
    } else {
        let _ = writeln!(out, "Open it on the device that should get the passkey.");
    }
    out
}

/// The passkeys as a table.
pub(crate) fn list_text(passkeys: &[Passkey]) -> String {
    if passkeys.is_empty() {
        return "No passkeys.\n".to_owned();
    }
    let rows: Vec<[String; 3]> = passkeys
        .iter()
        .map(|p| {
            [
                sanitize(p.id()),
                state_name(p.state()).to_owned(),
                sanitize(p.name()),
            ]
        })
        .collect();
    let id_width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let id_width = id_width.max("ID".len());
    let mut out = String::new();
    let _ = writeln!(out, "{:id_width$}  {:9}  NAME", "ID", "STATE");
    for [id, state, name] in rows {
        let _ = writeln!(out, "{id:id_width$}  {state:9}  {name}");
    }
    out
}

fn state_name(state: AuthFactorState) -> &'static str {
    match state {
        AuthFactorState::Ready => "READY",
        AuthFactorState::NotReady => "NOT_READY",
        AuthFactorState::Removed => "REMOVED",
        AuthFactorState::Unspecified => "UNKNOWN",
    }
}

/// `send`'s confirmation.
pub(crate) fn send_text() -> String {
    "Sent: ZITADEL e-mails a passkey registration link to the token's user.\n".to_owned()
}

/// `remove`'s confirmation.
pub(crate) fn remove_text(id: &str) -> String {
    format!("Removed passkey {}.\n", sanitize(id))
}

/// The link as text: control and invisible reordering characters (which a URL parser
/// tolerates) become `?`, never cut.
fn sanitize_link(link: &str) -> String {
    link.chars()
        .map(|c| if is_unsafe_char(c) { '?' } else { c })
        .collect()
}

/// `2026-11-29 00:30:00 +01:00`, in the local offset taken at start-up.
pub(crate) fn local_time(at: SystemTime, offset: UtcOffset) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
    );
    // Not `OffsetDateTime::from(at)`: it panics past year 9999, and a server may well answer
    // an expiration of 10 000 years (the longest Duration).
    let utc = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => time::Duration::try_from(after)
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d)),
        Err(before) => time::Duration::try_from(before.duration())
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_sub(d)),
    };
    utc.and_then(|t| t.checked_to_offset(offset))
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "at an unrepresentable time".to_owned())
}

/// `60 minutes`, `90 seconds`, `5 hours`, `3 days`: rounded, for people.
pub(crate) fn in_words(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (n, unit) = if seconds < 120 {
        (seconds, "second")
    } else if seconds < 3 * 3600 {
        (seconds.saturating_add(30) / 60, "minute")
    } else if seconds < 3 * 86_400 {
        (seconds.saturating_add(1800) / 3600, "hour")
    } else {
        (seconds.saturating_add(43_200) / 86_400, "day")
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(in_words(Duration::from_secs(3600)), "60 minutes");
        assert_eq!(in_words(Duration::from_secs(1)), "1 second");
        assert_eq!(in_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(in_words(Duration::from_secs(300)), "5 minutes");
        assert_eq!(in_words(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(in_words(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(
            in_words(Duration::MAX),
            format!("{} days", u64::MAX / 86_400)
        );
    }

    #[test]
    fn links_show_no_reordering_characters() {
        assert_eq!(
            sanitize_link("https://a.example/\u{202E}txt.exe?code=x\ny"),
            "https://a.example/?txt.exe?code=x?y"
        );
    }

    #[test]
    fn times_past_year_9999_do_not_panic() {
        // A server may answer the longest Duration there is: 10 000 years from now.
        let far = SystemTime::now() + Duration::from_secs(315_576_000_000);
        assert_eq!(
            local_time(far, UtcOffset::UTC),
            "at an unrepresentable time"
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(400_000_000_000);
        assert_eq!(
            local_time(before, UtcOffset::UTC),
            "at an unrepresentable time"
        );
    }

    #[test]
    fn local_times_show_the_offset() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let offset = UtcOffset::from_hms(1, 0, 0).expect("valid");
        assert_eq!(local_time(at, offset), "2027-01-15 09:00:00 +01:00");
        assert_eq!(local_time(at, UtcOffset::UTC), "2027-01-15 08:00:00 +00:00");
    }
}
