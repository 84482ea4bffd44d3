//! The parameters of an OAuth request: an `application/x-www-form-urlencoded` body (or the
//! `/device` page's query), decoded strictly and bounded, so that a malformed request is an
//! `invalid_request`, never a panic, and a huge one never reaches the state.

use std::collections::HashMap;

use percent_encoding::percent_decode;

/// At most this many parameters.
pub(crate) const MAX_PARAMS: usize = 32;
/// The longest `client_id` and `scope` (they are kept with each authorization and token).
pub(crate) const MAX_KEPT_LEN: usize = 1024;
/// The longest value of any other parameter (a token, a device code, a user code...).
pub(crate) const MAX_VALUE_LEN: usize = 4096;

/// The decoded parameters, each once. Its `Debug` shows the names only: values hold tokens.
#[derive(Default)]
pub(crate) struct Form {
    params: HashMap<String, String>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Form").field("names", &names).finish()
    }
}

/// Why a form was refused (the `error_description` of an `invalid_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormError(pub String);

impl Form {
    /// Parses `a=1&b=2` (`+` is a space, `%XX` a byte; the result must be UTF-8).
    pub(crate) fn parse(input: &[u8]) -> Result<Form, FormError> {
        let mut params = HashMap::new();
        for pair in input.split(|b| *b == b'&').filter(|pair| !pair.is_empty()) {
            if params.len() >= MAX_PARAMS {
                return Err(FormError(format!("more than {MAX_PARAMS} parameters")));
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            let limit = match name.as_str() {
                "client_id" | "scope" => MAX_KEPT_LEN,
                _ => MAX_VALUE_LEN,
            };
            if value.len() > limit {
                return Err(FormError(format!(
                    "the parameter {} is longer than {limit} bytes",
                    shown(&name)
                )));
            }
            if params.contains_key(&name) {
                // RFC 6749 §3.1: parameters must not be included more than once.
                return Err(FormError(format!(
                    "the parameter {} is included more than once",
                    shown(&name)
                )));
            }
            params.insert(name, value);
        }
        Ok(Form { params })
    }

    /// A parameter's value; an empty one counts as missing (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// Whether a `content-type` is a form (`application/x-www-form-urlencoded`, any parameters).
pub(crate) fn is_form(content_type: Option<&http::HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn decode(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| FormError("a parameter is not UTF-8".to_owned()))
}

/// A parameter name for an error message: quoted, control characters escaped, cut at 64 bytes
/// (the description goes back to the client, which sent it; nothing here is logged).
fn shown(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_what_is_not_a_form() {
        let form = Form::parse(b"client_id=a%20b&scope=openid+offline_access&empty=&bare")
            .expect("a form");
        assert_eq!(form.get("client_id"), Some("a b"));
        assert_eq!(form.get("scope"), Some("openid offline_access"));
        assert_eq!(form.get("empty"), None);
        assert_eq!(form.get("bare"), None);
        assert_eq!(form.get("missing"), None);
        assert!(!format!("{form:?}").contains("a b"));
        assert!(Form::parse(b"").is_ok());
        assert!(Form::parse(b"a=1&a=2").is_err(), "twice");
        assert!(Form::parse(b"a=%FF").is_err(), "not UTF-8");
        assert!(Form::parse(b"a=%").is_ok(), "a lone % stays as it is");
        let many = (0..=MAX_PARAMS)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Form::parse(many.as_bytes()).is_err());
        let long_scope = format!("scope={}", "s".repeat(MAX_KEPT_LEN + 1));
        assert!(Form::parse(long_scope.as_bytes()).is_err());
        let long_token = format!("token={}", "t".repeat(MAX_KEPT_LEN + 1));
        assert!(Form::parse(long_token.as_bytes()).is_ok());
        let huge_token = format!("token={}", "t".repeat(MAX_VALUE_LEN + 1));
        assert!(Form::parse(huge_token.as_bytes()).is_err());
    }

    #[test]
    fn form_content_types() {
        let is = |value: &'static str| is_form(Some(&http::HeaderValue::from_static(value)));
        assert!(is("application/x-www-form-urlencoded"));
        assert!(is("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!is("application/json"));
        assert!(!is("multipart/form-data; boundary=x"));
        assert!(!is_form(None));
    }
}
