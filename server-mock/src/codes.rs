//! One-time codes: the seeded generator of IDs and codes, and the codes that are still live.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use foldhash::fast::RandomState;
use rand::distr::Alphanumeric;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::clock::serialize_time;
use crate::login::Ceremony;

/// At most this many codes are live at once (the oldest are removed first).
pub const CODE_CAPACITY: usize = 10_000;
/// Wrong tries after which a code is removed.
pub const MAX_CODE_ATTEMPTS: u32 = 3;
/// Length of one-time codes (of `A-Z a-z 0-9`).
pub const CODE_LENGTH: usize = 12;

/// A one-time code that can still be used on the login page.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveCode {
    /// The code's ID (`codeID` in the link).
    pub code_id: String,
    /// The user the code is for.
    pub user_id: String,
    /// The user's org.
    pub org_id: String,
    /// The one-time code itself (12 characters of `A-Z a-z 0-9`).
    pub code: String,
    /// The full registration link.
    pub link: String,
    /// When it was created.
    #[serde(serialize_with = "serialize_time")]
    pub created: SystemTime,
    /// When it stops working.
    #[serde(serialize_with = "serialize_time")]
    pub expires: SystemTime,
    /// Wrong tries so far (the code is removed at 3).
    pub failed_attempts: u32,
    /// `true` if it was created by SendMyPasswordlessLink (so it is in the outbox).
    pub sent: bool,
}

impl std::fmt::Debug for LiveCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCode")
            .field("code_id", &self.code_id)
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .field("code", &"<redacted>")
            .field("link", &"<redacted>")
            .field("failed_attempts", &self.failed_attempts)
            .field("sent", &self.sent)
            .finish()
    }
}

/// The seeded source of every ID (codes and passkeys) and one-time code: the same seed and the
/// same calls give the same values.
pub(crate) struct Generator {
    rng: ChaCha8Rng,
}

/// Leaves out the generator's state (it predicts every code to come).
impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator").finish_non_exhaustive()
    }
}

impl Generator {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An 18-digit decimal ID.
    pub(crate) fn new_id(&mut self) -> String {
        self.rng
            .random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000)
            .to_string()
    }

    /// A 12-character code of `A-Z a-z 0-9`. rand's `Alphanumeric` takes about one 32-bit draw
    /// a character (it keeps six bits and redraws the 2 of 64 values past the alphabet), where a
    /// uniform index into an alphabet took several instructions more (the code was 0.9k of the
    /// 32k instructions a REST call cost the mock).
    pub(crate) fn new_code(&mut self) -> String {
        let mut code = String::with_capacity(CODE_LENGTH);
        code.extend(
            (&mut self.rng)
                .sample_iter(Alphanumeric)
                .take(CODE_LENGTH)
                .map(char::from),
        );
        code
    }
}

/// Live codes by code ID, their creation order for listing and eviction, and the passkey
/// registration the login page began for each (at most one per code: opening the link again
/// begins a new one). A code's registration goes when the code goes.
///
/// The maps hash with foldhash rather than std's SipHash, which cost 0.6k instructions a REST
/// call at the capacity (a new code in, the oldest out). HashDoS needs colliding keys inserted,
/// and only the mock's own random code IDs are; a login page request only looks one up.
#[derive(Default)]
pub(crate) struct Codes {
    by_id: HashMap<String, LiveCode, RandomState>,
    order: VecDeque<String>,
    ceremonies: HashMap<String, Ceremony, RandomState>,
}

/// A count only: the codes are secrets.
impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes").field("live", &self.len()).finish()
    }
}

impl Codes {
    /// Adds a code, removing the oldest beyond [`CODE_CAPACITY`].
    pub(crate) fn insert(&mut self, code: LiveCode) {
        while self.by_id.len() >= CODE_CAPACITY {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.by_id.remove(&oldest);
                    // Hashing the key is the cost of a removal, even from an empty map.
                    if !self.ceremonies.is_empty() {
                        self.ceremonies.remove(&oldest);
                    }
                }
                None => break,
            }
        }
        self.order.push_back(code.code_id.clone());
        self.by_id.insert(code.code_id.clone(), code);
    }

    pub(crate) fn get_mut(&mut self, code_id: &str) -> Option<&mut LiveCode> {
        self.by_id.get_mut(code_id)
    }

    pub(crate) fn remove(&mut self, code_id: &str) {
        if self.by_id.remove(code_id).is_some() {
            self.order.retain(|id| id != code_id);
        }
        self.ceremonies.remove(code_id);
    }

    /// Keeps the registration begun for a live code (replacing an earlier one).
    pub(crate) fn begin_ceremony(&mut self, code_id: &str, ceremony: Ceremony) {
        if self.by_id.contains_key(code_id) {
            self.ceremonies.insert(code_id.to_owned(), ceremony);
        }
    }

    /// The registration begun for a code, taken out: it is verified once, right or wrong.
    pub(crate) fn take_ceremony(&mut self, code_id: &str) -> Option<Ceremony> {
        self.ceremonies.remove(code_id)
    }

    /// The codes not expired at `now`, oldest first.
    pub(crate) fn live(&self, now: SystemTime) -> Vec<LiveCode> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(|code| code.expires > now)
            .cloned()
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(id: usize) -> LiveCode {
        LiveCode {
            code_id: id.to_string(),
            user_id: String::new(),
            org_id: String::new(),
            code: String::new(),
            link: String::new(),
            created: SystemTime::UNIX_EPOCH,
            expires: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60),
            failed_attempts: 0,
            sent: false,
        }
    }

    #[test]
    fn the_oldest_codes_go_first() {
        let mut codes = Codes::default();
        for i in 0..CODE_CAPACITY + 2 {
            codes.insert(code(i));
        }
        assert_eq!(codes.len(), CODE_CAPACITY);
        let live = codes.live(SystemTime::UNIX_EPOCH);
        assert_eq!(live.first().map(|c| c.code_id.as_str()), Some("2"));
        codes.remove("2");
        assert!(codes.get_mut("2").is_none());
        assert_eq!(codes.len(), CODE_CAPACITY - 1);
        // Expired codes are not live.
        let later = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60);
        assert!(codes.live(later).is_empty());
    }

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Generator::new(7), Generator::new(7));
        let id = a.new_id();
        assert_eq!(id.len(), 18);
        assert_eq!(id, b.new_id());
        let code = a.new_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(code, b.new_code());
    }
}
