//! Which call a request is: an RPC, from its gRPC path or its REST route (the generated HTTP
//! rule table), or one of the OAuth endpoints ([`crate::oauth`]). This is the one place that
//! decides which requests are faulted and journaled, and under which method name.
//!
//! The front end needs the method name before routing (for faults and the journal), so it
//! matches the rule templates itself and hands an RPC straight to its REST handler
//! (`rest::call_rule`); axum's router, built from the same table, serves everything else (the
//! OAuth endpoints included).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use zitadel_passkey::proto::http_rules::{ALL, HttpRule};

/// A call the front end faults and journals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// An RPC over gRPC or gRPC-web, by name.
    Grpc(&'static str),
    /// An RPC over REST, by its rule.
    Rest(&'static HttpRule),
    /// An OAuth endpoint (`DeviceAuthorization`, `Token`, `Revoke`), plain HTTP.
    OAuth(&'static str),
}

impl Call {
    /// The method faults match on and the journal names.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Call::Grpc(name) | Call::OAuth(name) => name,
            Call::Rest(rule) => rpc_name(rule),
        }
    }
}

/// The call a gRPC or gRPC-web request names, if we serve it.
pub(crate) fn grpc_call(path: &str) -> Option<Call> {
    rpc_of_grpc_path(path).map(Call::Grpc)
}

/// The call a plain HTTP request (neither gRPC nor gRPC-web) names, if it is one: a REST route
/// or an OAuth endpoint.
pub(crate) fn http_call(method: &http::Method, path: &str) -> Option<Call> {
    rest_rule(method, path)
        .map(Call::Rest)
        .or_else(|| crate::oauth::method_of(method, path).map(Call::OAuth))
}

/// The RPC name of a gRPC path we serve (`/zitadel.auth.v1.AuthService/AddMyPasswordlessLink`
/// gives `AddMyPasswordlessLink`).
pub(crate) fn rpc_of_grpc_path(path: &str) -> Option<&'static str> {
    ALL.iter()
        .find(|rule| rule.grpc_path == path)
        .map(|rule| rpc_name(rule))
}

/// The RPC name of a rule: what follows the last `/` of its gRPC path (found by a backward scan
/// of the bytes, where `rsplit`'s searcher cost 0.3k instructions a call).
pub(crate) fn rpc_name(rule: &'static HttpRule) -> &'static str {
    let path = rule.grpc_path;
    match path.as_bytes().iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

/// The rule a REST request matches, by verb and path.
pub(crate) fn rest_rule(method: &http::Method, path: &str) -> Option<&'static HttpRule> {
    ALL.iter()
        .find(|rule| rule.verb == method.as_str() && match_template(rule.path, path).is_some())
}

/// Matches a path against a rule's template; returns the value of the one `{field}` segment
/// (if the template has one), percent-decoded (bytes that are not UTF-8 become U+FFFD, so such a
/// path is still the RPC, journaled and answered like any other call).
///
/// Every template has at most one field, a whole segment (a test checks the table), so a match
/// is a literal prefix, one non-empty segment and a literal suffix: two comparisons instead of a
/// walk over segments, which showed in the REST path's profile.
pub(crate) fn match_template<'a>(template: &str, path: &'a str) -> Option<Option<Cow<'a, str>>> {
    let Some(open) = template.find('{') else {
        return (template == path).then_some(None);
    };
    let close = open + template[open..].find('}')?;
    let segment = path
        .strip_prefix(&template[..open])?
        .strip_suffix(&template[close + 1..])?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    Some(Some(percent_decode_str(segment).decode_utf8_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zitadel_passkey::proto::http_rules::auth_service;

    #[test]
    fn templates_have_at_most_one_whole_segment_field() {
        for rule in ALL {
            let fields = rule.path.matches('{').count();
            assert!(fields <= 1, "{}", rule.path);
            for segment in rule.path.split('/').filter(|s| s.contains('{')) {
                assert!(
                    segment.starts_with('{') && segment.ends_with('}'),
                    "{}",
                    rule.path
                );
            }
        }
    }

    #[test]
    fn matches_templates() {
        let t = auth_service::REMOVE_MY_PASSWORDLESS.path;
        assert_eq!(
            match_template(t, "/auth/v1/users/me/passwordless/12%2034")
                .map(|f| f.map(|f| f.into_owned())),
            Some(Some("12 34".to_owned()))
        );
        assert_eq!(match_template(t, "/auth/v1/users/me/passwordless/"), None);
        assert_eq!(
            match_template(t, "/auth/v1/users/me/passwordless/1/2"),
            None
        );
        assert_eq!(match_template(t, "/auth/v1/users/me"), None);
        assert_eq!(match_template(t, "/auth/v1/users/me/passwordles/1"), None);
        let link = auth_service::ADD_MY_PASSWORDLESS_LINK.path;
        assert_eq!(match_template(link, link), Some(None));
        assert_eq!(match_template(link, &format!("{link}/")), None);
        assert_eq!(match_template(link, "/auth/v1/users/me/passwordless"), None);
        assert_eq!(
            rest_rule(&http::Method::POST, "/auth/v1/users/me/passwordless/_link"),
            Some(&auth_service::ADD_MY_PASSWORDLESS_LINK)
        );
        assert_eq!(
            rest_rule(&http::Method::GET, "/auth/v1/users/me/passwordless/_link"),
            None
        );
        assert_eq!(
            rpc_of_grpc_path("/zitadel.auth.v1.AuthService/AddMyPasswordlessLink"),
            Some("AddMyPasswordlessLink")
        );
    }

    #[test]
    fn oauth_endpoints_are_calls_only_as_posts() {
        let post = |path| http_call(&http::Method::POST, path).map(Call::method);
        assert_eq!(
            post("/oauth/v2/device_authorization"),
            Some("DeviceAuthorization")
        );
        assert_eq!(post("/oauth/v2/token"), Some("Token"));
        assert_eq!(post("/oauth/v2/revoke"), Some("Revoke"));
        assert_eq!(post("/oauth/v2/token/"), None);
        assert_eq!(post("/device"), None, "the page is not a call");
        assert_eq!(http_call(&http::Method::GET, "/oauth/v2/token"), None);
        assert_eq!(
            post(auth_service::ADD_MY_PASSWORDLESS_LINK.path),
            Some("AddMyPasswordlessLink")
        );
        assert_eq!(grpc_call("/oauth/v2/token"), None);
    }
}
