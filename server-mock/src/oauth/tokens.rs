//! The access and refresh tokens the mock issued: who they stand for, until when, and which
//! sign-in they belong to (a refresh token's revocation ends its access tokens too).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::bounded::Bounded;
use super::{
    ACCESS_TOKEN_PREFIX, API_AUDIENCE_SCOPE, OFFLINE_ACCESS_SCOPE, REFRESH_IDLE_TTL,
    REFRESH_TOKEN_PREFIX, REFRESH_TTL, TOKEN_CAPACITY,
};

/// One sign-in: what the person approved, shared by all the tokens issued for it.
#[derive(Debug)]
pub(crate) struct Grant {
    pub user_id: String,
    pub org_id: String,
    pub client_id: String,
    /// The scopes approved (a refresh may ask for fewer, never for more).
    pub scopes: Vec<String>,
    /// When the person approved it (refresh tokens stop working [`REFRESH_TTL`] later).
    pub signed_in: SystemTime,
    /// Tells the sign-ins apart.
    pub number: u64,
}

#[derive(Debug)]
struct Access {
    grant: Arc<Grant>,
    expires: SystemTime,
    /// Whether its scope has [`API_AUDIENCE_SCOPE`].
    api: bool,
}

#[derive(Debug)]
struct Refresh {
    grant: Arc<Grant>,
    last_used: SystemTime,
}

/// Tokens just issued, for the token answer.
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// The scope of the access token, space-separated.
    pub scope: String,
}

/// Leaves the tokens out.
impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why a refresh token did not give new tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshError {
    /// Unknown, rotated, revoked, evicted, expired or another client's.
    Invalid,
    /// It asked for a scope the sign-in does not have.
    Scope,
}

/// Who a token stands for on the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiUser {
    pub user_id: String,
    pub org_id: String,
}

/// The issued tokens, each kind bounded on its own. The maps are keyed by the tokens
/// themselves; their `Debug` shows counts only.
#[derive(Debug)]
pub(crate) struct Tokens {
    access: Bounded<Access>,
    refresh: Bounded<Refresh>,
    sign_ins: u64,
}

impl Default for Tokens {
    fn default() -> Self {
        Self::with_capacity(TOKEN_CAPACITY)
    }
}

fn new_token(prefix: &str) -> String {
    let mut token = String::with_capacity(prefix.len() + 43);
    token.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(rand::random::<[u8; 32]>(), &mut token);
    token
}

impl Tokens {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            access: Bounded::new(capacity),
            refresh: Bounded::new(capacity),
            sign_ins: 0,
        }
    }

    /// A new sign-in: its tokens, with a refresh token if the scopes have `offline_access`.
    pub(crate) fn sign_in(
        &mut self,
        user_id: String,
        org_id: String,
        client_id: String,
        scopes: Vec<String>,
        now: SystemTime,
        ttl: Duration,
    ) -> Issued {
        self.sign_ins += 1;
        let grant = Arc::new(Grant {
            user_id,
            org_id,
            client_id,
            scopes,
            signed_in: now,
            number: self.sign_ins,
        });
        let scopes = grant.scopes.clone();
        let offline = scopes.iter().any(|s| s == OFFLINE_ACCESS_SCOPE);
        self.issue(&grant, &scopes, offline, now, ttl)
    }

    fn issue(
        &mut self,
        grant: &Arc<Grant>,
        scopes: &[String],
        with_refresh: bool,
        now: SystemTime,
        ttl: Duration,
    ) -> Issued {
        let access_token = new_token(ACCESS_TOKEN_PREFIX);
        self.access.insert(
            access_token.clone(),
            Access {
                grant: grant.clone(),
                expires: now.checked_add(ttl).unwrap_or(now),
                api: scopes.iter().any(|s| s == API_AUDIENCE_SCOPE),
            },
        );
        let refresh_token = with_refresh.then(|| {
            let token = new_token(REFRESH_TOKEN_PREFIX);
            self.refresh.insert(
                token.clone(),
                Refresh {
                    grant: grant.clone(),
                    last_used: now,
                },
            );
            token
        });
        Issued {
            access_token,
            refresh_token,
            scope: scopes.join(" "),
        }
    }

    /// New tokens for a refresh token of `client_id`, for `scopes` (all of the sign-in's if
    /// `None`); the refresh token is used up, the new one has the sign-in's scopes.
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        client_id: &str,
        scopes: Option<Vec<String>>,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Issued, RefreshError> {
        let refresh = self
            .refresh
            .get(refresh_token)
            .filter(|r| r.grant.client_id == client_id)
            .ok_or(RefreshError::Invalid)?;
        let idle = refresh
            .last_used
            .checked_add(REFRESH_IDLE_TTL)
            .is_none_or(|until| now >= until);
        let old = refresh
            .grant
            .signed_in
            .checked_add(REFRESH_TTL)
            .is_none_or(|until| now >= until);
        if idle || old {
            self.refresh.remove(refresh_token);
            return Err(RefreshError::Invalid);
        }
        let grant = refresh.grant.clone();
        let scopes = match scopes {
            Some(asked) if asked.iter().any(|s| !grant.scopes.contains(s)) => {
                return Err(RefreshError::Scope);
            }
            Some(asked) => asked,
            None => grant.scopes.clone(),
        };
        self.refresh.remove(refresh_token);
        Ok(self.issue(&grant, &scopes, true, now, ttl))
    }

    /// Revokes a token of `client_id` (RFC 7009): an access token alone, a refresh token with
    /// every access token of its sign-in. Anything else is left alone.
    pub(crate) fn revoke(&mut self, token: &str, client_id: &str) {
        if self
            .access
            .get(token)
            .is_some_and(|a| a.grant.client_id == client_id)
        {
            self.access.remove(token);
        } else if let Some(number) = self
            .refresh
            .get(token)
            .filter(|r| r.grant.client_id == client_id)
            .map(|r| r.grant.number)
        {
            self.access.retain(|a| a.grant.number != number);
            self.refresh.retain(|r| r.grant.number != number);
        }
    }

    /// The user a bearer token stands for on the API: a live access token with the audience
    /// scope. An expired one is dropped on the way.
    pub(crate) fn api_user(&mut self, token: &str, now: SystemTime) -> Option<ApiUser> {
        let access = self.access.get(token)?;
        if now >= access.expires {
            self.access.remove(token);
            return None;
        }
        access.api.then(|| ApiUser {
            user_id: access.grant.user_id.clone(),
            org_id: access.grant.org_id.clone(),
        })
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        (self.access.len(), self.refresh.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;
    const TTL: Duration = Duration::from_secs(60);

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn sign_in(tokens: &mut Tokens, list: &[&str]) -> Issued {
        tokens.sign_in(
            "u".to_owned(),
            "o".to_owned(),
            "c".to_owned(),
            scopes(list),
            NOW,
            TTL,
        )
    }

    #[test]
    fn access_tokens_need_the_audience_and_expire() {
        let mut tokens = Tokens::default();
        let with = sign_in(&mut tokens, &["openid", API_AUDIENCE_SCOPE]);
        assert!(with.refresh_token.is_none(), "no offline_access");
        assert!(with.access_token.starts_with(ACCESS_TOKEN_PREFIX));
        assert_eq!(with.access_token.len(), ACCESS_TOKEN_PREFIX.len() + 43);
        let user = tokens.api_user(&with.access_token, NOW).expect("taken");
        assert_eq!((user.user_id.as_str(), user.org_id.as_str()), ("u", "o"));
        let without = sign_in(&mut tokens, &["openid"]);
        assert_eq!(tokens.api_user(&without.access_token, NOW), None);
        assert_eq!(tokens.api_user(&with.access_token, NOW + TTL), None);
        assert_eq!(tokens.api_user(&with.access_token, NOW), None, "dropped");
        assert!(!format!("{tokens:?} {with:?}").contains(&with.access_token));
    }

    #[test]
    fn refresh_rotates_and_revoking_it_ends_the_sign_in() {
        let mut tokens = Tokens::default();
        let first = sign_in(&mut tokens, &[API_AUDIENCE_SCOPE, OFFLINE_ACCESS_SCOPE]);
        let old = first.refresh_token.expect("offline_access");
        assert_eq!(
            tokens.refresh(&old, "other", None, NOW, TTL).err(),
            Some(RefreshError::Invalid)
        );
        assert_eq!(
            tokens
                .refresh(&old, "c", Some(scopes(&["openid"])), NOW, TTL)
                .err(),
            Some(RefreshError::Scope)
        );
        let second = tokens
            .refresh(&old, "c", Some(scopes(&[OFFLINE_ACCESS_SCOPE])), NOW, TTL)
            .expect("refreshed");
        assert_eq!(second.scope, OFFLINE_ACCESS_SCOPE);
        assert_eq!(tokens.api_user(&second.access_token, NOW), None, "narrowed");
        assert_eq!(
            tokens.refresh(&old, "c", None, NOW, TTL).err(),
            Some(RefreshError::Invalid),
            "rotated"
        );
        let new = second.refresh_token.expect("rotated");
        let third = tokens
            .refresh(&new, "c", None, NOW, TTL)
            .expect("full scope");
        assert!(tokens.api_user(&third.access_token, NOW).is_some());
        // Another client's revocation changes nothing; the right one ends the sign-in.
        let newest = third.refresh_token.expect("rotated");
        tokens.revoke(&newest, "other");
        assert_eq!(tokens.counts(), (3, 1));
        let other = sign_in(&mut tokens, &[API_AUDIENCE_SCOPE]);
        tokens.revoke(&newest, "c");
        assert_eq!(tokens.counts(), (1, 0));
        assert!(tokens.api_user(&other.access_token, NOW).is_some());
        tokens.revoke(&other.access_token, "c");
        assert_eq!(tokens.counts(), (0, 0));
    }

    #[test]
    fn refresh_tokens_expire_idle_or_old() {
        let mut tokens = Tokens::default();
        let day = Duration::from_secs(86_400);
        let first = sign_in(&mut tokens, &[OFFLINE_ACCESS_SCOPE]);
        let idle = first.refresh_token.expect("offline_access");
        let later = NOW + REFRESH_IDLE_TTL;
        assert_eq!(
            tokens.refresh(&idle, "c", None, later, TTL).err(),
            Some(RefreshError::Invalid)
        );
        let second = sign_in(&mut tokens, &[OFFLINE_ACCESS_SCOPE]);
        let mut token = second.refresh_token.expect("offline_access");
        let mut now = NOW;
        // Used every 29 days, it still ends 90 days after the sign-in.
        while now + 29 * day < NOW + REFRESH_TTL {
            now += 29 * day;
            let issued = tokens
                .refresh(&token, "c", None, now, TTL)
                .expect("in time");
            token = issued.refresh_token.expect("rotated");
        }
        assert_eq!(
            tokens
                .refresh(&token, "c", None, NOW + REFRESH_TTL, TTL)
                .err(),
            Some(RefreshError::Invalid)
        );
    }

    #[test]
    fn each_kind_is_bounded() {
        let mut tokens = Tokens::with_capacity(2);
        let first = sign_in(&mut tokens, &[API_AUDIENCE_SCOPE, OFFLINE_ACCESS_SCOPE]);
        for _ in 0..3 {
            sign_in(&mut tokens, &[API_AUDIENCE_SCOPE, OFFLINE_ACCESS_SCOPE]);
        }
        assert_eq!(tokens.counts(), (2, 2));
        assert_eq!(tokens.api_user(&first.access_token, NOW), None, "evicted");
    }
}
