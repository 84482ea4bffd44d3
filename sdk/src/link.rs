//! Friendly views of the responses: [`PasskeyLink`] and [`Passkey`].

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
use crate::proto::zitadel::user::v1::{AuthFactorState, WebAuthNToken};
use crate::proto::zitadel::v1::ObjectDetails;

/// A one-time passkey registration link, as `add_passkey_link` returns it.
///
/// The link holds a one-time code: `Debug` and `Display` show it as `code=***`; only
/// [`url`](PasskeyLink::url) (and the raw response) give it out.
///
/// ```
/// use zitadel_passkey::PasskeyLink;
/// use zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse;
///
/// let raw = AddMyPasswordlessLinkResponse {
///     link: "https://acme.com/ui/login/login/passwordless/init?userID=1&orgID=2&codeID=3&code=kFfsO8OizZPS".into(),
///     expiration: Some(zitadel_passkey::wkt::Duration::from_secs(3600).unwrap()),
///     details: None,
/// };
/// let link = PasskeyLink::try_from(raw).unwrap();
/// assert_eq!((link.user_id(), link.org_id(), link.code_id()), ("1", "2", "3"));
/// assert_eq!(link.expires_in().as_secs(), 3600);
/// assert!(!format!("{link} {link:?}").contains("kFfsO8OizZPS"));
/// ```
#[derive(Clone)]
pub struct PasskeyLink {
    raw: AddMyPasswordlessLinkResponse,
    user_id: QueryValue,
    org_id: QueryValue,
    code_id: QueryValue,
    expires_in: Duration,
    expires_at: Option<SystemTime>,
}

/// The details a response without any reads as.
static NO_DETAILS: ObjectDetails = ObjectDetails {
    sequence: 0,
    creation_date: None,
    change_date: None,
    resource_owner: String::new(),
};

/// A value of the link's query: where it stands in the link when it reads as written (ZITADEL's
/// values always do, and this saves an allocation each on every call), or its decoded text.
#[derive(Clone)]
enum QueryValue {
    Span(Range<usize>),
    Decoded(String),
}

impl QueryValue {
    /// The value of a query pair read out of `link` (nothing reads as empty).
    fn of(link: &str, value: Option<Cow<'_, str>>) -> QueryValue {
        let Some(value) = value else {
            return QueryValue::Span(0..0);
        };
        if let Cow::Borrowed(text) = value
            && let Some(start) = offset_in(link, text)
        {
            return QueryValue::Span(start..start + text.len());
        }
        QueryValue::Decoded(value.into_owned())
    }

    fn read<'a>(&'a self, link: &'a str) -> &'a str {
        match self {
            QueryValue::Span(span) => link.get(span.clone()).unwrap_or_default(),
            QueryValue::Decoded(text) => text,
        }
    }
}

/// Where `part` starts in `whole`, if it is a slice of it.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

impl PasskeyLink {
    /// The full link, one-time code included: give it only to the user it is for.
    pub fn url(&self) -> &str {
        &self.raw.link
    }

    /// The link with the one-time code replaced by `***`, safe to log.
    pub fn redacted_url(&self) -> String {
        redact_code(&self.raw.link)
    }

    /// The user the link registers a passkey for (`userID`).
    pub fn user_id(&self) -> &str {
        self.user_id.read(&self.raw.link)
    }

    /// The user's organisation (`orgID`).
    pub fn org_id(&self) -> &str {
        self.org_id.read(&self.raw.link)
    }

    /// The ID of the one-time code (`codeID`).
    pub fn code_id(&self) -> &str {
        self.code_id.read(&self.raw.link)
    }

    /// How long the code lives, from when the server created it (zero if the server sent none).
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// When the code expires by this machine's clock: the time the response arrived plus
    /// [`expires_in`](Self::expires_in); `None` if the server sent no expiration.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The details of the event that created the code.
    pub fn details(&self) -> &ObjectDetails {
        self.raw.details.as_ref().unwrap_or(&NO_DETAILS)
    }

    /// The response as received. Its `link` holds the one-time code (its `Debug` hides it).
    pub fn raw(&self) -> &AddMyPasswordlessLinkResponse {
        &self.raw
    }

    /// The response as received (see [`raw`](Self::raw)).
    pub fn into_raw(self) -> AddMyPasswordlessLinkResponse {
        self.raw
    }
}

/// Two links are equal when the server sent the same response. [`expires_at`](Self::expires_at)
/// is left out: it depends on when the response arrived, not on what the server said.
impl PartialEq for PasskeyLink {
    fn eq(&self, other: &PasskeyLink) -> bool {
        self.raw == other.raw
    }
}

impl TryFrom<AddMyPasswordlessLinkResponse> for PasskeyLink {
    type Error = Error;

    /// Checks the response: the link must be an absolute URL with a `code`, and the
    /// timestamps and duration in range.
    fn try_from(raw: AddMyPasswordlessLinkResponse) -> Result<PasskeyLink, Error> {
        check_details(raw.details.as_ref().unwrap_or(&NO_DETAILS))?;
        let query = link_query(&raw.link)?;
        // One pass over the query (this runs on every call): the first value of each key, as
        // the login page reads it.
        let (mut code, mut user_id, mut org_id, mut code_id) = (None, None, None, None);
        for (key, value) in query_pairs(&query) {
            let slot = match &*key {
                "code" => &mut code,
                "userID" => &mut user_id,
                "orgID" => &mut org_id,
                "codeID" => &mut code_id,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        if code.is_none_or(|code| code.is_empty()) {
            return Err(Error::malformed("the response's link has no code"));
        }
        let value = |value| QueryValue::of(&raw.link, value);
        let (user_id, org_id, code_id) = (value(user_id), value(org_id), value(code_id));
        let (expires_in, expires_at) = match raw.expiration {
            Some(expiration) => {
                let expires_in = Duration::try_from(expiration).map_err(|e| {
                    Error::malformed(format!("the response's expiration is invalid: {e}"))
                })?;
                (expires_in, SystemTime::now().checked_add(expires_in))
            }
            None => (Duration::ZERO, None),
        };
        Ok(PasskeyLink {
            user_id,
            org_id,
            code_id,
            expires_in,
            expires_at,
            raw,
        })
    }
}

/// The query of an absolute link. A link written as ZITADEL writes them (see
/// [`plain_link_query`]) is sliced by hand; anything else (an IDN host, a space, a link without a
/// host) is left to `url`, which accepts what a browser accepts and gives the error.
fn link_query(link: &str) -> Result<Cow<'_, str>, Error> {
    if let Some(query) = plain_link_query(link) {
        return Ok(Cow::Borrowed(query));
    }
    let url = url::Url::parse(link)
        .map_err(|e| Error::malformed(format!("the response's link is not a URL: {e}")))?;
    Ok(Cow::Owned(url.query().unwrap_or_default().to_owned()))
}

/// The query of a plain link: `http://` or `https://`, a plain host (see [`is_plain_host`]) with
/// an optional numeric port, and then only characters that no URL parser rewrites. `url` takes
/// every such link and reads the same query out of it, so it is found with byte scans, a tenth
/// of what parsing the URI costs (this runs on every call); a unit test compares it with `url`.
fn plain_link_query(link: &str) -> Option<&str> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))?;
    let authority_end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (host, port) = match memchr::memchr(b':', authority.as_bytes()) {
        Some(colon) => (&authority[..colon], Some(&authority[colon + 1..])),
        None => (authority, None),
    };
    let plain_host = is_plain_host(host);
    let plain_port = port.is_none_or(|port| {
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
    });
    if !plain_host || !plain_port || !all_plain_uri_bytes(tail) {
        return None;
    }
    let before_fragment = &tail[..find(tail, b'#')];
    let query_start = find(before_fragment, b'?');
    Some(before_fragment.get(query_start + 1..).unwrap_or_default())
}

/// A host `url` takes as written: four decimal numbers up to 255 without leading zeros (an IPv4
/// address), or labels of ASCII letters, digits and dashes whose last starts with a letter and
/// none with `xn--`. Anything else goes to `url`, which refuses, say, `256.0.0.1` or `a.08` (the
/// WHATWG rules read a last label of digits as an IPv4 number) and invalid punycode.
fn is_plain_host(host: &str) -> bool {
    // One pass over the bytes: `str::split` and `parse` cost several times more here.
    let (mut labels, mut all_ipv4, mut last_starts_with_letter) = (0, true, false);
    for label in host.as_bytes().split(|&b| b == b'.') {
        let Some(&first) = label.first() else {
            return false;
        };
        let punycode = label
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"xn--"));
        if punycode
            || !label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return false;
        }
        labels += 1;
        all_ipv4 &= is_ipv4_number(label);
        last_starts_with_letter = first.is_ascii_alphabetic();
    }
    (labels == 4 && all_ipv4) || last_starts_with_letter
}

/// One number of a dotted-quad IPv4 address as `url` reads it unchanged: 0 to 255 in decimal,
/// without a leading zero (which would make it octal).
fn is_ipv4_number(label: &[u8]) -> bool {
    matches!(label.len(), 1..=3)
        && label.iter().all(u8::is_ascii_digit)
        && (label.len() == 1 || label[0] != b'0')
        && label
            .iter()
            .fold(0u16, |number, &digit| number * 10 + u16::from(digit - b'0'))
            <= 255
}

/// The index of the first `byte` in `text`, or its length. `memchr` here and in
/// [`query_pairs`]: `str`'s pattern searchers cost several times more on these short strings.
fn find(text: &str, byte: u8) -> usize {
    memchr::memchr(byte, text.as_bytes()).unwrap_or(text.len())
}

/// Whether every byte is one of RFC 3986's unreserved and reserved characters or `%`, less `'`,
/// `[` and `]`, which URL parsers escape or refuse in a path or a query. That is printable ASCII
/// but for twelve characters, written as comparisons in a fold without an early exit so that
/// the compiler checks 16 bytes a step.
fn all_plain_uri_bytes(text: &str) -> bool {
    let refused = text.bytes().fold(false, |refused, b| {
        refused
            | !(0x21..=0x7e).contains(&b)
            | matches!(
                b,
                b'"' | b'\'' | b'<' | b'>' | b'[' | b'\\' | b']' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
    });
    !refused
}

/// The pairs of a query, decoded as `application/x-www-form-urlencoded` (as the login page and
/// `form_urlencoded` read them). Split by hand because this runs on every call and ZITADEL's
/// pairs hold nothing to decode: `form_urlencoded` takes every pair through three decoding passes
/// and an allocation (about 4k of the 8k instructions a link cost). A pair with a `%` or a `+`
/// still goes through `form_urlencoded`; a unit test checks both read the same pairs.
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    let mut rest = query;
    let pairs = std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = find(rest, b'&');
        let pair = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or_default();
        Some(pair)
    });
    pairs.filter(|pair| !pair.is_empty()).filter_map(|pair| {
        if memchr::memchr2(b'%', b'+', pair.as_bytes()).is_some() {
            return url::form_urlencoded::parse(pair.as_bytes()).next();
        }
        let at = find(pair, b'=');
        let value = pair.get(at + 1..).unwrap_or_default();
        Some((Cow::Borrowed(&pair[..at]), Cow::Borrowed(value)))
    })
}

/// Checks the ranges of the timestamps in `ObjectDetails` (a binary decode does not).
pub(crate) fn check_details(details: &ObjectDetails) -> Result<(), Error> {
    for timestamp in [&details.creation_date, &details.change_date]
        .into_iter()
        .flatten()
    {
        timestamp
            .check()
            .map_err(|e| Error::malformed(format!("the response's details are invalid: {e}")))?;
    }
    Ok(())
}

/// Replaces the value of the `code` query parameter with `***`.
///
/// Works on the URL as the parser normalised it (tabs and newlines dropped) and compares keys
/// percent-decoded, so that every spelling the parser, and the login page, read as `code` is
/// caught.
fn redact_code(link: &str) -> String {
    let normalized = url::Url::parse(link).map_or_else(|_| link.to_owned(), String::from);
    let Some((base, query)) = normalized.split_once('?') else {
        return normalized;
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_code_key(key) => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", query.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Whether a raw query key reads as `code` once form-decoded.
fn is_code_key(key: &str) -> bool {
    let key = key.replace('+', " ");
    percent_encoding::percent_decode_str(&key)
        .decode_utf8_lossy()
        .eq_ignore_ascii_case("code")
}

impl fmt::Display for PasskeyLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted_url())
    }
}

/// Written here because codegen skips prost's derived `Debug` for this message: its `link`
/// holds the one-time code, which must never reach logs through `{:?}`.
impl fmt::Debug for AddMyPasswordlessLinkResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddMyPasswordlessLinkResponse")
            .field("details", &self.details)
            .field("link", &redact_code(&self.link))
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl fmt::Debug for PasskeyLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyLink")
            .field("url", &self.redacted_url())
            .field("user_id", &self.user_id())
            .field("org_id", &self.org_id())
            .field("code_id", &self.code_id())
            .field("expires_in", &self.expires_in)
            .field("details", self.details())
            .finish()
    }
}

/// A registered passkey (a `zitadel.user.v1.WebAuthNToken`), as `list_passkeys` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Passkey {
    raw: WebAuthNToken,
}

impl Passkey {
    /// The passkey's ID, for [`Client::remove_passkey`](crate::Client::remove_passkey).
    pub fn id(&self) -> &str {
        &self.raw.id
    }

    /// The name the user gave it.
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// Its state (ZITADEL lists only `Ready` ones); an unknown number reads as `Unspecified`.
    pub fn state(&self) -> AuthFactorState {
        AuthFactorState::try_from(self.raw.state).unwrap_or(AuthFactorState::Unspecified)
    }

    /// The token as received.
    pub fn raw(&self) -> &WebAuthNToken {
        &self.raw
    }
}

impl From<WebAuthNToken> for Passkey {
    fn from(raw: WebAuthNToken) -> Passkey {
        Passkey { raw }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_response_debug_hides_the_code() {
        let raw = AddMyPasswordlessLinkResponse {
            link: "https://a/x?userID=1&code=kFfsO8OizZPS&codeID=3".into(),
            ..Default::default()
        };
        let debug = format!("{raw:?} {raw:#?}");
        assert!(!debug.contains("kFfsO8OizZPS"), "{debug}");
        assert!(debug.contains("code=***"), "{debug}");
        assert!(debug.contains("userID=1"), "{debug}");
    }

    #[test]
    fn the_fast_and_the_full_parser_read_the_same_query() {
        for link in [
            "https://acme.com/ui/login/login/passwordless/init?userID=1&orgID=2&codeID=3&code=kFf",
            "http://127.0.0.1:8080/ui?code=a%2Bb+c&userID=%C3%A9&orgID=x'y#code=frag",
            "https://bücher.example/ui?code=abc&userID=1",
            "https://a/x?code=has space&userID=1",
            "https://a/x?code=one&code=two",
            "mailto:someone?code=abc",
            "https://a/x?&&code=a=b&=v&userID&orgID=&code=again&",
            "https://a/x?code=%zz&userID=%41+&orgID=~!$'()*,;:@/?",
        ] {
            let query = link_query(link).expect("a link");
            let fast: Vec<(String, String)> = query_pairs(&query)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
            let full: Vec<(String, String)> = url::Url::parse(link)
                .expect("a URL")
                .query_pairs()
                .into_owned()
                .collect();
            assert_eq!(fast, full, "{link}");
        }
        assert!(link_query("/relative?code=abc").is_err());
    }

    /// Links put together from parts that parsers read differently: wherever the slicing takes a
    /// link, `url` takes it too and reads the same query, and the link's accessors give the
    /// values `url` decodes.
    #[test]
    fn plain_links_read_as_url_reads_them() {
        let schemes = ["https://", "http://", "HTTPS://", "ftp://", "https:/"];
        let hosts = [
            "acme.com",
            "a-b.example:8080",
            "127.0.0.1:1",
            "x.test:65536",
            "x.test:",
            "bücher.de",
            "[::1]:8",
            "",
            "a b",
            "u@h.test",
            "1.2.3.4.5",
            "256.0.0.1",
            "01.2.3.4",
            "08",
            "a.08",
            "a.0x",
            "a.1b",
            "xn--",
            "xn--a.com",
            "XN--bcher-kva.de",
            "a..b",
            "acme.com.",
            "-a-.b",
        ];
        let paths = [
            "",
            "/",
            "/ui/login",
            "/a b",
            "/x'y",
            "/[x]",
            "/%41",
            "/a\\b",
        ];
        let queries = [
            "",
            "?",
            "?code=abc&userID=1&orgID=2&codeID=3",
            "?code=a%2Bb&userID=%C3%A9",
            "?code=x'y&orgID=[1]",
            "?code=a+b&codeID=~!$()*,;:@/?",
            "?userID=1&code=",
            "?code=a\tb&userID=1",
            "?c%6Fde=z&code=q&code=r",
        ];
        let fragments = ["", "#", "#code=f", "#a?code=x", "#a b"];
        let mut plain = 0;
        for scheme in schemes {
            for host in hosts {
                for path in paths {
                    for query in queries {
                        for fragment in fragments {
                            let link = format!("{scheme}{host}{path}{query}{fragment}");
                            plain += usize::from(plain_link_query(&link).is_some());
                            check_against_url(&link);
                        }
                    }
                }
            }
        }
        assert!(plain > 500, "only {plain} links took the plain path");
    }

    fn check_against_url(link: &str) {
        let Ok(url) = url::Url::parse(link) else {
            assert!(plain_link_query(link).is_none(), "{link}");
            return;
        };
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let query = link_query(link).expect("a link url takes");
        let ours: Vec<(String, String)> = query_pairs(&query)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        assert_eq!(ours, pairs, "{link}");
        let Ok(passkey_link) = PasskeyLink::try_from(AddMyPasswordlessLinkResponse {
            link: link.to_owned(),
            ..AddMyPasswordlessLinkResponse::default()
        }) else {
            return;
        };
        let first = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map_or("", |(_, value)| value.as_str())
        };
        assert_eq!(passkey_link.user_id(), first("userID"), "{link}");
        assert_eq!(passkey_link.org_id(), first("orgID"), "{link}");
        assert_eq!(passkey_link.code_id(), first("codeID"), "{link}");
    }

    #[test]
    fn redaction_keeps_everything_but_the_code() {
        assert_eq!(
            redact_code("https://a/x?userID=1&code=abc&codeID=3#f"),
            "https://a/x?userID=1&code=***&codeID=3#f"
        );
        assert_eq!(redact_code("https://a/x"), "https://a/x");
    }

    #[test]
    fn a_code_the_url_parser_finds_is_always_redacted() {
        // Spellings of the `code` key that a URL parser (and the login page) read as `code`.
        for link in [
            "https://a/x?userID=1&c%6Fde=SECRETCODE12&codeID=3",
            "https://a/x?userID=1&co\tde=SECRETCODE12&codeID=3",
            "https://a/x?userID=1&code=SECRET\nCODE12&codeID=3",
        ] {
            let link = PasskeyLink::try_from(AddMyPasswordlessLinkResponse {
                link: link.into(),
                ..AddMyPasswordlessLinkResponse::default()
            })
            .map_err(|e| e.to_string());
            let link = match link {
                Ok(link) => link,
                Err(e) => panic!("{e}"),
            };
            for text in [link.to_string(), format!("{link:?}"), link.redacted_url()] {
                assert!(!text.contains("SECRET"), "{text}");
                assert!(!text.contains("CODE12"), "{text}");
                assert!(text.contains("=***"), "{text}");
            }
        }
    }

    #[test]
    fn out_of_range_values_are_errors() {
        let mut raw = AddMyPasswordlessLinkResponse {
            link: "https://a/x?code=abc".into(),
            expiration: Some(crate::wkt::Duration {
                seconds: i64::MAX,
                nanos: 0,
            }),
            details: None,
        };
        assert!(PasskeyLink::try_from(raw.clone()).is_err());
        raw.expiration = Some(crate::wkt::Duration {
            seconds: -5,
            nanos: 0,
        });
        assert!(PasskeyLink::try_from(raw.clone()).is_err());
        raw.expiration = None;
        raw.details = Some(ObjectDetails {
            creation_date: Some(crate::wkt::Timestamp {
                seconds: i64::MIN,
                nanos: 0,
            }),
            ..ObjectDetails::default()
        });
        assert!(PasskeyLink::try_from(raw.clone()).is_err());
        raw.details = None;
        raw.link = "not a url".into();
        assert!(PasskeyLink::try_from(raw).is_err());
    }
}
