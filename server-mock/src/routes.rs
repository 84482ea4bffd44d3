//! Which RPC a request is, from its gRPC path or its REST route (the generated HTTP rule table).
//!
//! The front end needs the RPC name before routing (for faults and the journal), so it matches
//! the rule templates itself and hands an RPC straight to its REST handler (`rest::call_rule`);
//! axum's router, built from the same table, serves everything else.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use zitadel_passkey::proto::http_rules::{ALL, HttpRule};

/// The RPC name of a gRPC path we serve (`/zitadel.auth.v1.AuthService/AddMyPasswordlessLink`
/// gives `AddMyPasswordlessLink`).
pub(crate) fn rpc_of_grpc_path(path: &str) -> Option<&'static str> {
    ALL.iter()
        .find(|rule| rule.grpc_path == path)
        .map(|rule| rpc_name(rule))
}

/// The RPC name of a rule.
pub(crate) fn rpc_name(rule: &'static HttpRule) -> &'static str {
    rule.grpc_path.rsplit('/').next().unwrap_or(rule.grpc_path)
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
}
