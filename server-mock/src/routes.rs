//! Which RPC a request is, from its gRPC path or its REST route (the generated HTTP rule table).
//!
//! The front end needs the RPC name before routing (for faults and the journal), so it matches
//! the rule templates itself; axum's router, built from the same table, then routes the call.

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
pub(crate) fn match_template<'a>(template: &str, path: &'a str) -> Option<Option<Cow<'a, str>>> {
    let mut field = None;
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(field),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') => {
                if p.is_empty() {
                    return None;
                }
                field = Some(percent_decode_str(p).decode_utf8_lossy());
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zitadel_passkey::proto::http_rules::auth_service;

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
