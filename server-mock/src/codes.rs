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
        self.new_id_number().to_string()
    }

    /// The number an 18-digit decimal ID is written from.
    pub(crate) fn new_id_number(&mut self) -> u64 {
        self.rng
            .random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000)
    }

    /// A 12-character code of `A-Z a-z 0-9`. rand's `Alphanumeric` takes about one 32-bit draw
    /// a character (it keeps six bits and redraws the 2 of 64 values past the alphabet), where a
    /// uniform index into an alphabet took several instructions more (the code was 0.9k of the
    /// 32k instructions a REST call cost the mock).
    pub(crate) fn new_code(&mut self) -> [u8; CODE_LENGTH] {
        let mut code = [0; CODE_LENGTH];
        for (byte, drawn) in code
            .iter_mut()
            .zip((&mut self.rng).sample_iter(Alphanumeric))
        {
            *byte = drawn;
        }
        code
    }
}

/// A new code, as the call that creates it has it.
pub(crate) struct NewCode<'a> {
    pub id: u64,
    pub code: [u8; CODE_LENGTH],
    pub link: &'a str,
    pub user_id: &'a str,
    pub org_id: &'a str,
    pub created: SystemTime,
    pub expires: SystemTime,
    pub sent: bool,
}

/// A live code as the store keeps it: the ID and the code inline, the link, the user ID and the
/// org ID in one allocation. Why not [`LiveCode`]: at the capacity every new code evicts the
/// oldest, and a `LiveCode` with its ID twice more as keys was seven strings allocated on one
/// worker and freed, long cold, on another. Storing codes that way was a third of the mock's
/// REST time at saturation (`wrk` against a build that stored none: 0.69 → 0.78 of the minimal
/// axum server); this way it is one allocation and one free.
pub(crate) struct StoredCode {
    id: u64,
    code: [u8; CODE_LENGTH],
    /// The link, then the user ID, then the org ID.
    text: Box<str>,
    user_at: usize,
    org_at: usize,
    created: SystemTime,
    pub(crate) expires: SystemTime,
    pub(crate) failed_attempts: u32,
    sent: bool,
}

impl StoredCode {
    fn new(new: &NewCode<'_>) -> Self {
        let mut text = String::with_capacity(new.link.len() + new.user_id.len() + new.org_id.len());
        text.push_str(new.link);
        text.push_str(new.user_id);
        text.push_str(new.org_id);
        StoredCode {
            id: new.id,
            code: new.code,
            user_at: new.link.len(),
            org_at: new.link.len() + new.user_id.len(),
            text: text.into_boxed_str(),
            created: new.created,
            expires: new.expires,
            failed_attempts: 0,
            sent: new.sent,
        }
    }

    fn link(&self) -> &str {
        &self.text[..self.user_at]
    }

    fn user_id(&self) -> &str {
        &self.text[self.user_at..self.org_at]
    }

    fn org_id(&self) -> &str {
        &self.text[self.org_at..]
    }

    fn code(&self) -> &str {
        code_text(&self.code)
    }

    /// Whether a link's `code`, `userID` and `orgID` are this code's.
    pub(crate) fn is_for(&self, code: &str, user_id: &str, org_id: &str) -> bool {
        self.code() == code && self.user_id() == user_id && self.org_id() == org_id
    }

    fn to_live(&self) -> LiveCode {
        LiveCode {
            code_id: self.id.to_string(),
            user_id: self.user_id().to_owned(),
            org_id: self.org_id().to_owned(),
            code: self.code().to_owned(),
            link: self.link().to_owned(),
            created: self.created,
            expires: self.expires,
            failed_attempts: self.failed_attempts,
            sent: self.sent,
        }
    }
}

/// A code from [`Generator::new_code`] as text (only `Alphanumeric`'s ASCII is ever in one).
pub(crate) fn code_text(code: &[u8; CODE_LENGTH]) -> &str {
    std::str::from_utf8(code).unwrap_or_default()
}

/// The number a code ID is written from, or `None` if `text` is not how [`Generator::new_id`]
/// writes one (digits only, no sign, no leading zero), so that one code has one ID.
fn code_id_number(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 1 || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Live codes by code ID, their creation order for listing and eviction, and the passkey
/// registration the login page began for each (at most one per code: opening the link again
/// begins a new one). A code's registration goes when the code goes.
///
/// The maps hash with foldhash rather than std's SipHash, which cost 0.6k instructions a REST
/// call at the capacity (a new code in, the oldest out). HashDoS needs colliding keys inserted,
/// and only the mock's own random code IDs are; a login page request only looks one up.
pub(crate) struct Codes {
    by_id: HashMap<u64, StoredCode, RandomState>,
    order: VecDeque<u64>,
    ceremonies: HashMap<u64, Ceremony, RandomState>,
}

impl Default for Codes {
    fn default() -> Self {
        Codes {
            // Room for twice the capacity from the start. At the capacity every call removes a
            // code and adds one, and the removals leave tombstones; when they have used up the
            // table's free slots, a table more than half full is moved to one twice its size
            // (every code rehashed on that one call, both tables held at once), while one at most
            // half full is cleaned in place. Sized so, the table never moves after it is made,
            // and the mock's memory reaches its high-water mark when the codes first fill up
            // instead of at a random later call.
            by_id: HashMap::with_capacity_and_hasher(2 * CODE_CAPACITY, RandomState::default()),
            order: VecDeque::new(),
            ceremonies: HashMap::default(),
        }
    }
}

/// A count only: the codes are secrets.
impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes").field("live", &self.len()).finish()
    }
}

impl Codes {
    /// Adds a code, removing the oldest beyond [`CODE_CAPACITY`].
    pub(crate) fn insert(&mut self, code: &NewCode<'_>) {
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
        self.order.push_back(code.id);
        self.by_id.insert(code.id, StoredCode::new(code));
    }

    pub(crate) fn get_mut(&mut self, code_id: &str) -> Option<&mut StoredCode> {
        self.by_id.get_mut(&code_id_number(code_id)?)
    }

    pub(crate) fn remove(&mut self, code_id: &str) {
        let Some(id) = code_id_number(code_id) else {
            return;
        };
        if self.by_id.remove(&id).is_some() {
            self.order.retain(|live| *live != id);
        }
        self.ceremonies.remove(&id);
    }

    /// Keeps the registration begun for a live code (replacing an earlier one).
    pub(crate) fn begin_ceremony(&mut self, code_id: &str, ceremony: Ceremony) {
        if let Some(id) = code_id_number(code_id).filter(|id| self.by_id.contains_key(id)) {
            self.ceremonies.insert(id, ceremony);
        }
    }

    /// The registration begun for a code, taken out: it is verified once, right or wrong.
    pub(crate) fn take_ceremony(&mut self, code_id: &str) -> Option<Ceremony> {
        self.ceremonies.remove(&code_id_number(code_id)?)
    }

    /// The codes not expired at `now`, oldest first.
    pub(crate) fn live(&self, now: SystemTime) -> Vec<LiveCode> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(|code| code.expires > now)
            .map(StoredCode::to_live)
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: u64 = 100_000_000_000_000_000;

    fn code(id: u64) -> NewCode<'static> {
        NewCode {
            id,
            code: *b"abcdefghijk0",
            link: "http://mock/link",
            user_id: "user",
            org_id: "org",
            created: SystemTime::UNIX_EPOCH,
            expires: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60),
            sent: false,
        }
    }

    #[test]
    fn the_oldest_codes_go_first() {
        let mut codes = Codes::default();
        for i in 0..CODE_CAPACITY as u64 + 2 {
            codes.insert(&code(ID + i));
        }
        assert_eq!(codes.len(), CODE_CAPACITY);
        let live = codes.live(SystemTime::UNIX_EPOCH);
        let third = (ID + 2).to_string();
        assert_eq!(
            live.first().map(|c| c.code_id.as_str()),
            Some(third.as_str())
        );
        codes.remove(&third);
        assert!(codes.get_mut(&third).is_none());
        assert_eq!(codes.len(), CODE_CAPACITY - 1);
        // Expired codes are not live.
        let later = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60);
        assert!(codes.live(later).is_empty());
    }

    #[test]
    fn the_map_of_codes_never_moves_at_the_capacity() {
        // A moved map is a rehash of every code on one call and a step in the mock's memory.
        // (`capacity` is the codes plus the free slots; tombstones lower it until the map is
        // cleaned, and only a move raises it.)
        let mut codes = Codes::default();
        for i in 0..CODE_CAPACITY as u64 {
            codes.insert(&code(ID + i));
        }
        let filled = codes.by_id.capacity();
        for i in CODE_CAPACITY as u64..10 * CODE_CAPACITY as u64 {
            codes.insert(&code(ID + i));
            assert!(codes.by_id.capacity() <= filled, "moved at code {i}");
        }
        assert_eq!(codes.len(), CODE_CAPACITY);
    }

    #[test]
    fn a_stored_code_keeps_every_field() {
        let mut codes = Codes::default();
        codes.insert(&NewCode {
            sent: true,
            ..code(ID + 7)
        });
        let id = (ID + 7).to_string();
        let stored = codes.get_mut(&id).expect("live");
        assert!(stored.is_for("abcdefghijk0", "user", "org"));
        assert!(!stored.is_for("abcdefghijk0", "use", "rorg"));
        assert!(!stored.is_for("abcdefghijk1", "user", "org"));
        stored.failed_attempts = 2;
        let live = codes.live(SystemTime::UNIX_EPOCH);
        let expected = LiveCode {
            code_id: id,
            user_id: "user".into(),
            org_id: "org".into(),
            code: "abcdefghijk0".into(),
            link: "http://mock/link".into(),
            created: SystemTime::UNIX_EPOCH,
            expires: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60),
            failed_attempts: 2,
            sent: true,
        };
        assert_eq!(live, [expected]);
    }

    /// One code has one ID: other spellings of its number find nothing.
    #[test]
    fn only_the_written_id_finds_a_code() {
        let mut codes = Codes::default();
        codes.insert(&code(ID));
        let id = ID.to_string();
        assert!(codes.get_mut(&id).is_some());
        for other in [
            format!("0{id}"),
            format!("+{id}"),
            format!("{id} "),
            String::new(),
            "18446744073709551616".to_owned(),
        ] {
            assert!(codes.get_mut(&other).is_none(), "{other:?}");
            codes.remove(&other);
        }
        assert_eq!(codes.len(), 1);
        assert_eq!(code_id_number("0"), Some(0));
    }

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Generator::new(7), Generator::new(7));
        let id = a.new_id();
        assert_eq!(id.len(), 18);
        assert_eq!(id, b.new_id());
        let code = a.new_code();
        assert!(code.iter().all(u8::is_ascii_alphanumeric));
        assert_eq!(code, b.new_code());
    }
}
