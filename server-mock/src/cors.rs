//! CORS as ZITADEL answers it (docs/wire-contract.md §4, CORS): two policies of the same library
//! (rs/cors), one in front of the REST gateway with ZITADEL's options, one inside
//! improbable-eng's gRPC-web wrapper with the wrapper's options. Hand-written: tower-http's layer
//! answers preflights 200 with fixed lists, where rs/cors answers 204 and echoes the request.
//!
//! What rs/cors does, and so this module:
//!
//! - A **preflight** is an `OPTIONS` with a non-empty `Access-Control-Request-Method`. It always
//!   gets `Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers` and the
//!   policy's success status (204), never reaches the handler, and gets the `Access-Control-*`
//!   headers only if it has an `Origin`, the method is allowed and every requested header is:
//!   then the origin, the requested method and the requested headers are echoed back,
//!   `Access-Control-Allow-Credentials: true`, and `Access-Control-Max-Age` if the policy has one.
//!   The requested headers must be a lowercase, comma-separated list in sorted order without
//!   repeats (as browsers send it), with at most one space or tab around each name.
//! - Any **other request** gets `Vary: Origin` and runs; if it has an `Origin` and its method is
//!   allowed, the answer also gets the origin echoed, `Access-Control-Allow-Credentials: true` and
//!   the policy's `Access-Control-Expose-Headers`.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// One rs/cors configuration (every origin allowed, echoed, with credentials).
#[derive(Debug)]
pub(crate) struct Policy {
    /// Allowed request headers, lowercase and sorted (rs/cors keeps them as a sorted set).
    allowed_headers: &'static [&'static str],
    /// Allowed methods (`OPTIONS` always is), compared case-sensitively.
    allowed_methods: &'static [&'static str],
    /// `Access-Control-Expose-Headers` on actual answers, canonical names joined by `, `.
    exposed_headers: Option<&'static str>,
    /// `Access-Control-Max-Age` on preflights.
    max_age: Option<&'static str>,
}

/// ZITADEL's `DefaultCORSOptions` in front of the REST gateway: no max-age.
pub(crate) const REST: Policy = Policy {
    allowed_headers: &[
        "accept",
        "accept-language",
        "authorization",
        "connect-protocol-version",
        "connect-timeout-ms",
        "content-type",
        "grpc-timeout",
        "origin",
        "x-grpc-web",
        "x-requested-with",
        "x-user-agent",
        "x-zitadel-orgid",
    ],
    allowed_methods: &["OPTIONS", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    exposed_headers: Some(
        "Location, Content-Length, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin",
    ),
    max_age: None,
};

/// improbable-eng's gRPC-web wrapper as ZITADEL configures it: the request headers ZITADEL
/// allows it plus the wrapper's own `u-a`, rs/cors's default methods, ten minutes of max-age, and
/// no expose list of its own (the wrapper writes one per answer, [`grpc_web_exposed`]).
pub(crate) const GRPC_WEB: Policy = Policy {
    allowed_headers: &[
        "accept",
        "accept-language",
        "authorization",
        "content-type",
        "origin",
        "u-a",
        "x-grpc-web",
        "x-user-agent",
        "x-zitadel-orgid",
    ],
    allowed_methods: &["GET", "POST", "HEAD"],
    exposed_headers: None,
    max_age: Some("600"),
};

const PREFLIGHT_VARY: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);
const TRUE: HeaderValue = HeaderValue::from_static("true");

/// Whether rs/cors takes `method` and `headers` for a preflight.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|v| !v.is_empty())
}

/// Whether the gRPC-web wrapper claims the request as a preflight of its own: an `OPTIONS` whose
/// `Access-Control-Request-Headers` mention `x-grpc-web` (any case, any path). ZITADEL routes those
/// to the wrapper before the REST gateway.
pub(crate) fn is_grpc_web_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .is_some_and(|v| {
                v.as_bytes()
                    .to_ascii_lowercase()
                    .windows(10)
                    .any(|w| w == b"x-grpc-web")
            })
}

impl Policy {
    fn allows_method(&self, method: &[u8]) -> bool {
        method == b"OPTIONS" || self.allowed_methods.iter().any(|m| m.as_bytes() == method)
    }

    /// rs/cors's check of `Access-Control-Request-Headers` (every value of it, in turn).
    fn allows_headers<'a>(&self, values: impl Iterator<Item = &'a HeaderValue>) -> bool {
        // Names must come in the order of the sorted allow-list, each at most once.
        let mut last: Option<usize> = None;
        let mut empty = 0;
        for value in values {
            for name in value.as_bytes().split(|&b| b == b',') {
                let Some(name) = trim_ows(name) else {
                    return false;
                };
                if name.is_empty() {
                    empty += 1;
                    if empty > 16 {
                        return false;
                    }
                    continue;
                }
                let Some(at) = self
                    .allowed_headers
                    .iter()
                    .position(|h| h.as_bytes() == name)
                else {
                    return false;
                };
                if last.is_some_and(|last| at <= last) {
                    return false;
                }
                last = Some(at);
            }
        }
        true
    }

    /// The answer to a preflight (see [`is_preflight`]).
    pub(crate) fn preflight<B: Default>(&self, request: &HeaderMap) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.append(header::VARY, PREFLIGHT_VARY);
        let Some(origin) = request.get(header::ORIGIN).filter(|o| !o.is_empty()) else {
            return response;
        };
        let method = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !self.allows_method(method) {
            return response;
        }
        let requested = request.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS);
        if !self.allows_headers(requested.iter()) {
            return response;
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        for method in request.get_all(header::ACCESS_CONTROL_REQUEST_METHOD) {
            headers.append(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
        }
        if requested
            .iter()
            .next()
            .is_some_and(|first| !first.is_empty())
        {
            for value in requested {
                headers.append(header::ACCESS_CONTROL_ALLOW_HEADERS, value.clone());
            }
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        if let Some(max_age) = self.max_age {
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(max_age),
            );
        }
        response
    }

    /// What an actual (non-preflight) answer gets, given the request's method and `Origin`.
    pub(crate) fn actual(
        &self,
        method: &Method,
        origin: Option<&HeaderValue>,
        answer: &mut HeaderMap,
    ) {
        answer.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = origin.filter(|o| !o.is_empty()) else {
            return;
        };
        if !self.allows_method(method.as_str().as_bytes()) {
            return;
        }
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if let Some(exposed) = self.exposed_headers {
            answer.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(exposed),
            );
        }
        answer.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
    }
}

/// The gRPC-web wrapper's own expose list, written on every answer it sends, `Origin` or not: the
/// canonical names of all headers of the answer so far (its CORS headers included), so that a
/// script can read the `grpc-status` of an error that came in the headers.
pub(crate) fn grpc_web_exposed(answer: &mut HeaderMap) {
    let mut names: Vec<String> = Vec::with_capacity(answer.keys_len());
    for name in answer.keys() {
        let canonical = canonical(name.as_str());
        if !names.contains(&canonical) {
            names.push(canonical);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        answer.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
    }
}

/// A header name as Go writes it: each dash-separated word capitalised (`Grpc-Status-Details-Bin`).
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

/// Strips at most one space or tab from each end; `None` if more are left (rs/cors refuses those).
fn trim_ows(mut name: &[u8]) -> Option<&[u8]> {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    if name.last().is_some_and(ows) {
        name = &name[..name.len() - 1];
    }
    if name.first().is_some_and(ows) {
        name = &name[1..];
    }
    if name.last().is_some_and(ows) || name.first().is_some_and(ows) {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn lists_are_sorted_as_rs_cors_keeps_them() {
        for policy in [&REST, &GRPC_WEB] {
            assert!(policy.allowed_headers.is_sorted(), "{policy:?}");
        }
    }

    #[test]
    fn rest_preflight_echoes() {
        let answer: Response<()> = REST.preflight(&request(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type,x-zitadel-orgid",
            ),
        ]));
        assert_eq!(answer.status(), 204);
        let h = answer.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert_eq!(h["access-control-allow-methods"], "POST");
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization,content-type,x-zitadel-orgid"
        );
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h.get("access-control-max-age").is_none());
        assert_eq!(
            h["vary"],
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
    }

    #[test]
    fn refused_preflights_get_only_vary() {
        for pairs in [
            // No origin.
            &[("access-control-request-method", "POST")][..],
            // Not sorted, as no browser sends it.
            &[
                ("origin", "https://a"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type,authorization",
                ),
            ],
            // A header not on the list.
            &[
                ("origin", "https://a"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization,x-other"),
            ],
            // A method not on the list (compared case-sensitively).
            &[
                ("origin", "https://a"),
                ("access-control-request-method", "post"),
            ],
            // Two spaces.
            &[
                ("origin", "https://a"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,  content-type",
                ),
            ],
        ] {
            let answer: Response<()> = REST.preflight(&request(pairs));
            assert_eq!(answer.status(), 204);
            assert_eq!(
                answer.headers().len(),
                1,
                "{pairs:?}: {:?}",
                answer.headers()
            );
            assert!(answer.headers().contains_key("vary"));
        }
    }

    #[test]
    fn grpc_web_preflight_has_max_age_and_its_own_list() {
        let answer: Response<()> = GRPC_WEB.preflight(&request(&[
            ("origin", "https://a"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type, x-grpc-web, x-user-agent",
            ),
        ]));
        assert_eq!(answer.headers()["access-control-max-age"], "600");
        assert_eq!(
            answer.headers()["access-control-allow-headers"],
            "content-type, x-grpc-web, x-user-agent"
        );
        // `grpc-timeout` is on the gateway's list only.
        let answer: Response<()> = GRPC_WEB.preflight(&request(&[
            ("origin", "https://a"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "grpc-timeout,x-grpc-web"),
        ]));
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert!(is_grpc_web_preflight(
            &Method::OPTIONS,
            &request(&[("access-control-request-headers", "X-Grpc-Web")])
        ));
        assert!(!is_grpc_web_preflight(
            &Method::OPTIONS,
            &request(&[("access-control-request-headers", "authorization")])
        ));
    }

    #[test]
    fn actual_answers() {
        let origin = HeaderValue::from_static("https://a");
        let mut answer = HeaderMap::new();
        REST.actual(&Method::POST, Some(&origin), &mut answer);
        assert_eq!(answer["access-control-allow-origin"], "https://a");
        assert_eq!(answer["access-control-allow-credentials"], "true");
        assert_eq!(
            answer["access-control-expose-headers"],
            "Location, Content-Length, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"
        );
        let mut answer = HeaderMap::new();
        REST.actual(&Method::POST, None, &mut answer);
        assert_eq!(answer.len(), 1);
        assert_eq!(answer["vary"], "Origin");
        let mut answer = request(&[("grpc-status", "16"), ("content-type", "x")]);
        grpc_web_exposed(&mut answer);
        assert_eq!(
            answer["access-control-expose-headers"],
            "Grpc-Status, Content-Type"
        );
    }
}
