//! Users: which token is which user, the users' sequences and passkeys, and the known orgs.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::journal::token_fingerprint;

/// The org of users derived from tokens in non-strict mode.
pub const DEFAULT_ORG_ID: &str = "165947650742997249";

/// A user as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// The user ID (empty for a token without a user).
    pub user_id: String,
    /// The user's org.
    pub org_id: String,
    /// The current sequence of the user's history.
    pub sequence: u64,
    /// Fingerprints of the tokens mapped to this user (never the tokens).
    pub token_fingerprints: Vec<String>,
    /// The user's passkeys.
    pub passkeys: Vec<PasskeyInfo>,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PasskeyInfo {
    /// The token ID (for RemoveMyPasswordless).
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// The WebAuthn credential ID (base64url) when it was registered on the login page with a
    /// real ceremony; `None` for one added by the admin API or the login shortcut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// Who a configured token stands for (an empty `user_id` is a token without a user).
#[derive(Debug, Clone)]
pub(crate) struct TokenUser {
    pub user_id: String,
    pub org_id: String,
}

#[derive(Debug)]
struct User {
    org_id: String,
    sequence: u64,
    passkeys: Vec<PasskeyInfo>,
}

impl User {
    fn new(org_id: String) -> Self {
        // A fresh user already has one event in its history (the user was added), so the
        // first write answers sequence 2, as in ZITADEL's example.
        Self {
            org_id,
            sequence: 1,
            passkeys: Vec::new(),
        }
    }
}

/// Tokens, users and orgs.
pub(crate) struct Users {
    tokens: HashMap<String, TokenUser>,
    users: HashMap<String, User>,
    orgs: HashSet<String>,
}

/// Counts only: the token map's keys are secrets.
impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("tokens", &self.tokens.len())
            .field("users", &self.users.len())
            .field("orgs", &self.orgs.len())
            .finish()
    }
}

impl Default for Users {
    /// No tokens or users; the default org is known.
    fn default() -> Self {
        Self {
            tokens: HashMap::new(),
            users: HashMap::new(),
            orgs: HashSet::from([DEFAULT_ORG_ID.to_owned()]),
        }
    }
}

impl Users {
    /// Maps `token` to `user_id` in `org_id` (an empty `user_id` is a token without a user);
    /// the org becomes known.
    pub(crate) fn add(&mut self, token: &str, user_id: &str, org_id: &str) {
        self.orgs.insert(org_id.to_owned());
        if !user_id.is_empty() {
            self.users
                .entry(user_id.to_owned())
                .or_insert_with(|| User::new(org_id.to_owned()));
        }
        self.tokens.insert(
            token.to_owned(),
            TokenUser {
                user_id: user_id.to_owned(),
                org_id: org_id.to_owned(),
            },
        );
    }

    /// The user a configured (or added) token maps to.
    pub(crate) fn token(&self, token: &str) -> Option<&TokenUser> {
        self.tokens.get(token)
    }

    /// Whether `org_id` is the default org or the org of a configured user.
    pub(crate) fn knows_org(&self, org_id: &str) -> bool {
        self.orgs.contains(org_id)
    }

    /// The org of a user the mock knows (configured, added, or seen in a call).
    pub(crate) fn org_of(&self, user_id: &str) -> Option<&str> {
        self.users.get(user_id).map(|user| user.org_id.as_str())
    }

    /// Makes an org known (the org a device authorization was approved in).
    pub(crate) fn know_org(&mut self, org_id: &str) {
        if !self.orgs.contains(org_id) {
            self.orgs.insert(org_id.to_owned());
        }
    }

    /// The next sequence of the user's history (the user is created in `org_id` on first use).
    pub(crate) fn bump_sequence(&mut self, user_id: &str, org_id: &str) -> u64 {
        // Looked up first so the hot path does not allocate a key.
        if let Some(user) = self.users.get_mut(user_id) {
            user.sequence += 1;
            return user.sequence;
        }
        let mut user = User::new(org_id.to_owned());
        user.sequence += 1;
        let sequence = user.sequence;
        self.users.insert(user_id.to_owned(), user);
        sequence
    }

    /// Gives a user (created in the default org if unknown) a READY passkey.
    pub(crate) fn add_passkey(
        &mut self,
        user_id: &str,
        id: String,
        name: &str,
        credential_id: Option<String>,
    ) {
        let user = self
            .users
            .entry(user_id.to_owned())
            .or_insert_with(|| User::new(DEFAULT_ORG_ID.to_owned()));
        user.sequence += 1;
        user.passkeys.push(PasskeyInfo {
            id,
            name: name.to_owned(),
            credential_id,
        });
    }

    /// The user's passkeys (none for an unknown user).
    pub(crate) fn passkeys(&self, user_id: &str) -> &[PasskeyInfo] {
        self.users
            .get(user_id)
            .map_or(&[], |user| user.passkeys.as_slice())
    }

    /// Whether any user has a passkey with this credential ID (base64url).
    pub(crate) fn has_credential(&self, credential_id: &str) -> bool {
        self.users.values().any(|user| {
            user.passkeys
                .iter()
                .any(|p| p.credential_id.as_deref() == Some(credential_id))
        })
    }

    /// Removes one of the user's passkeys; returns the user's new sequence, or `None` if the user
    /// has no such passkey.
    pub(crate) fn remove_passkey(&mut self, user_id: &str, token_id: &str) -> Option<u64> {
        let user = self.users.get_mut(user_id)?;
        let index = user.passkeys.iter().position(|p| p.id == token_id)?;
        user.passkeys.remove(index);
        user.sequence += 1;
        Some(user.sequence)
    }

    /// Every user, and every token without a user, sorted by user ID and org.
    pub(crate) fn list(&self) -> Vec<UserInfo> {
        let mut fingerprints: HashMap<&str, Vec<String>> = HashMap::new();
        let mut tokenless = Vec::new();
        for (token, user) in &self.tokens {
            let fingerprint = token_fingerprint(token);
            if user.user_id.is_empty() {
                tokenless.push(UserInfo {
                    user_id: String::new(),
                    org_id: user.org_id.clone(),
                    sequence: 0,
                    token_fingerprints: vec![fingerprint],
                    passkeys: Vec::new(),
                });
            } else {
                fingerprints
                    .entry(user.user_id.as_str())
                    .or_default()
                    .push(fingerprint);
            }
        }
        let mut users: Vec<UserInfo> = self
            .users
            .iter()
            .map(|(id, user)| {
                let mut token_fingerprints = fingerprints.remove(id.as_str()).unwrap_or_default();
                token_fingerprints.sort();
                UserInfo {
                    user_id: id.clone(),
                    org_id: user.org_id.clone(),
                    sequence: user.sequence,
                    token_fingerprints,
                    passkeys: user.passkeys.clone(),
                }
            })
            .chain(tokenless)
            .collect();
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.org_id.cmp(&b.org_id)));
        users
    }
}

/// The stable user ID non-strict mode derives from a token: 18 decimal digits of its SHA-256.
pub fn derived_user_id(token: &str) -> String {
    crate::token_digest::TokenDigest::of(token.as_bytes()).user_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_and_passkeys() {
        let mut users = Users::default();
        users.add("t", "1", "9");
        assert!(users.knows_org("9") && users.knows_org(DEFAULT_ORG_ID));
        assert!(!users.knows_org("8"));
        assert_eq!(users.bump_sequence("1", "9"), 2);
        // A user first seen in a call is created in the call's org.
        assert_eq!(users.bump_sequence("2", "9"), 2);
        users.add_passkey("1", "p".to_owned(), "key", Some("AQID".to_owned()));
        assert!(users.has_credential("AQID") && !users.has_credential("AQIE"));
        assert_eq!(users.passkeys("1").len(), 1);
        assert_eq!(users.remove_passkey("1", "q"), None);
        assert_eq!(users.remove_passkey("1", "p"), Some(4));
        assert!(users.passkeys("1").is_empty());
        assert!(users.passkeys("unknown").is_empty());
        let listed = users.list();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].token_fingerprints, vec![token_fingerprint("t")]);
    }

    #[test]
    fn derived_ids_have_18_digits() {
        let id = derived_user_id("some-token");
        assert_eq!(id.len(), 18);
        assert_eq!(id, derived_user_id("some-token"));
        assert_ne!(id, derived_user_id("other-token"));
    }
}
