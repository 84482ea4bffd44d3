//! The JSON of a link answer, written directly rather than through serde.
//!
//! Why by hand: through serde, `serde_json` checks every byte of the ten keys and values for
//! escapes and writes each piece separately, 4.8k instructions of the 34.6k a REST call costs
//! the mock (server-side callgrind), more than the behaviour itself. Written here it is the same
//! bytes as the generated serde code: fields in proto order, default values left out, the 64-bit
//! sequence as a string, timestamps and durations as the SDK's own types write them. A value that
//! would need escaping, or a timestamp out of range, gives `None`, and the caller falls back to
//! serde. A unit test compares the two on generated answers.

use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use zitadel_passkey::proto::zitadel::v1::ObjectDetails;

/// The answer as `serde_json::to_vec` writes it, or `None` where this does not apply.
pub(crate) fn link_answer(answer: &AddMyPasswordlessLinkResponse) -> Option<Vec<u8>> {
    let mut text = String::with_capacity(320);
    let mut out = Object::new(&mut text);
    if let Some(details) = &answer.details {
        out.key("details");
        details_json(details, out.text)?;
    }
    if !answer.link.is_empty() {
        out.key("link");
        push_plain_string(out.text, &answer.link)?;
    }
    if let Some(expiration) = &answer.expiration {
        out.key("expiration");
        push_plain_string(out.text, &expiration.to_json_string().ok()?)?;
    }
    out.end();
    Some(text.into_bytes())
}

/// `ObjectDetails` appended to `text`.
fn details_json(details: &ObjectDetails, text: &mut String) -> Option<()> {
    let mut out = Object::new(text);
    if details.sequence != 0 {
        out.key("sequence");
        out.text.push('"');
        out.text
            .push_str(itoa::Buffer::new().format(details.sequence));
        out.text.push('"');
    }
    for (name, timestamp) in [
        ("creationDate", &details.creation_date),
        ("changeDate", &details.change_date),
    ] {
        if let Some(timestamp) = timestamp {
            out.key(name);
            push_plain_string(out.text, &timestamp.to_rfc3339().ok()?)?;
        }
    }
    if !details.resource_owner.is_empty() {
        out.key("resourceOwner");
        push_plain_string(out.text, &details.resource_owner)?;
    }
    out.end();
    Some(())
}

/// A JSON object being written into `text`: `{`, then `"key":value` pairs separated by commas.
struct Object<'t> {
    text: &'t mut String,
    empty: bool,
}

impl<'t> Object<'t> {
    fn new(text: &'t mut String) -> Object<'t> {
        text.push('{');
        Object { text, empty: true }
    }

    /// Starts a field: the comma before it, its key (a constant that needs no escaping).
    fn key(&mut self, name: &str) {
        if !self.empty {
            self.text.push(',');
        }
        self.empty = false;
        self.text.push('"');
        self.text.push_str(name);
        self.text.push_str("\":");
    }

    fn end(self) {
        self.text.push('}');
    }
}

/// `value` as a JSON string, if it has nothing `serde_json` would escape (control characters,
/// `"` and `\`); `None` otherwise.
fn push_plain_string(out: &mut String, value: &str) -> Option<()> {
    // A fold without an early exit, which the compiler turns into 16 bytes a step; `any` goes
    // byte by byte (1.5k instructions for the strings of one answer).
    let escapes = value.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if escapes {
        return None;
    }
    out.push('"');
    out.push_str(value);
    out.push('"');
    Some(())
}

#[cfg(test)]
mod tests {
    use zitadel_passkey::wkt::{Duration, Timestamp};

    use super::*;

    /// Every combination of present, absent and awkward values: where the direct writer answers,
    /// it answers serde's bytes, and it answers for every plain value.
    #[test]
    fn the_direct_json_is_serdes_json() {
        let strings = [
            "",
            "165947650742997249",
            "ü/é 🙂",
            "a\"b",
            "a\\b",
            "tab\tnl\n",
            "\u{7f}",
        ];
        let links = [
            "",
            "http://127.0.0.1:7811/ui/login/login/passwordless/init?userID=1&orgID=2&codeID=3&code=9fUgBRbuUkXY",
            "https://a/x?q=\"quoted\"",
        ];
        let timestamps = [
            None,
            Some(Timestamp {
                seconds: 1_765_000_000,
                nanos: 967_539_673,
            }),
            Some(Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            Some(Timestamp {
                seconds: 1_765_000_000,
                nanos: 500_000_000,
            }),
            Some(Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            }),
        ];
        let durations = [
            None,
            Some(Duration {
                seconds: 3600,
                nanos: 0,
            }),
            Some(Duration {
                seconds: 0,
                nanos: 1_000,
            }),
            Some(Duration {
                seconds: -1,
                nanos: 0,
            }),
        ];
        let mut direct = 0;
        for sequence in [0, 2, u64::MAX] {
            for owner in strings {
                for created in &timestamps {
                    for changed in &timestamps[..3] {
                        for link in links {
                            for expiration in &durations {
                                for details in [false, true] {
                                    let answer = AddMyPasswordlessLinkResponse {
                                        details: details.then(|| ObjectDetails {
                                            sequence,
                                            creation_date: *created,
                                            change_date: *changed,
                                            resource_owner: owner.to_owned(),
                                        }),
                                        link: link.to_owned(),
                                        expiration: *expiration,
                                    };
                                    let serde = serde_json::to_vec(&answer).ok();
                                    match link_answer(&answer) {
                                        Some(bytes) => {
                                            direct += 1;
                                            assert_eq!(Some(bytes), serde, "{answer:?}");
                                        }
                                        None => assert!(
                                            serde.is_none() || needs_escape(&answer),
                                            "no direct JSON for a plain answer: {answer:?}"
                                        ),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(
            direct > 1_000,
            "only {direct} answers were written directly"
        );
    }

    fn needs_escape(answer: &AddMyPasswordlessLinkResponse) -> bool {
        let escaped = |text: &str| serde_json::to_string(text).ok() != Some(format!("\"{text}\""));
        escaped(&answer.link)
            || answer
                .details
                .as_ref()
                .is_some_and(|details| escaped(&details.resource_owner))
    }
}
