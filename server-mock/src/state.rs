//! The mock's state: users, codes, passkeys, the outbox, the journal and scripted faults.
//!
//! One `Shared` sits behind every transport. Each lock is held only for a few map operations
//! and never across an `.await`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::fault::Fault;
use crate::journal::{JournalEntry, Transport, serialize_time};

/// The org of users derived from tokens in non-strict mode.
pub const DEFAULT_ORG_ID: &str = "165947650742997249";
/// At most this many journal entries are kept (the oldest go first), so that a load test
/// neither grows the mock without bound nor makes it slower.
pub const JOURNAL_CAPACITY: usize = 10_000;
/// At most this many codes are live at once (the oldest are removed first).
pub const CODE_CAPACITY: usize = 10_000;
/// At most this many outbox messages are kept (the oldest go first).
pub const OUTBOX_CAPACITY: usize = 10_000;
/// Wrong tries after which a code is removed.
pub const MAX_CODE_ATTEMPTS: u32 = 3;
/// Alphabet of one-time codes.
const CODE_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Length of one-time codes.
pub const CODE_LENGTH: usize = 12;

/// The configuration the mock starts with (and returns to on reset).
#[derive(Clone)]
pub(crate) struct Config {
    pub strict: bool,
    pub seed: u64,
    pub code_ttl: Duration,
    pub public_origin: Option<String>,
    pub fixed_clock: Option<SystemTime>,
    pub users: Vec<(String, String, String)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("strict", &self.strict)
            .field("seed", &self.seed)
            .field("code_ttl", &self.code_ttl)
            .field("public_origin", &self.public_origin)
            .field("fixed_clock", &self.fixed_clock)
            .field("users", &self.users.len())
            .finish()
    }
}

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
    /// The one-time code itself (12 characters of `a-z A-Z 0-9`).
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

/// A link SendMyPasswordlessLink would have e-mailed.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutboxMessage {
    /// When it was "sent".
    #[serde(serialize_with = "serialize_time")]
    pub time: SystemTime,
    /// The recipient user.
    pub user_id: String,
    /// The user's org.
    pub org_id: String,
    /// The code's ID.
    pub code_id: String,
    /// The registration link the mail would contain.
    pub link: String,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .field("code_id", &self.code_id)
            .field("link", &"<redacted>")
            .finish()
    }
}

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
}

#[derive(Debug, Clone)]
pub(crate) struct TokenUser {
    pub user_id: String,
    pub org_id: String,
}

#[derive(Debug)]
pub(crate) struct User {
    pub org_id: String,
    pub sequence: u64,
    pub passkeys: Vec<PasskeyInfo>,
}

impl User {
    pub(crate) fn new(org_id: String) -> Self {
        // A fresh user already has one event in its history (the user was added), so the
        // first write answers sequence 2, as in ZITADEL's example.
        Self {
            org_id,
            sequence: 1,
            passkeys: Vec::new(),
        }
    }
}

/// Everything that changes under the calls.
pub(crate) struct State {
    pub rng: ChaCha8Rng,
    pub tokens: HashMap<String, TokenUser>,
    pub users: HashMap<String, User>,
    pub orgs: HashSet<String>,
    /// Live codes by code ID, and their creation order for listing and eviction.
    pub codes: HashMap<String, LiveCode>,
    pub code_order: VecDeque<String>,
    pub outbox: VecDeque<OutboxMessage>,
}

/// Counts only: the token map's keys are secrets.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("tokens", &self.tokens.len())
            .field("users", &self.users.len())
            .field("orgs", &self.orgs.len())
            .field("codes", &self.codes.len())
            .field("outbox", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

impl State {
    fn new(config: &Config) -> Self {
        let mut state = State {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            tokens: HashMap::new(),
            users: HashMap::new(),
            orgs: HashSet::from([DEFAULT_ORG_ID.to_owned()]),
            codes: HashMap::new(),
            code_order: VecDeque::new(),
            outbox: VecDeque::new(),
        };
        for (token, user_id, org_id) in &config.users {
            state.add_user(token, user_id, org_id);
        }
        state
    }

    pub fn add_user(&mut self, token: &str, user_id: &str, org_id: &str) {
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

    /// An 18-digit decimal ID from the seeded RNG.
    pub fn new_id(&mut self) -> String {
        self.rng
            .random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000)
            .to_string()
    }

    /// A 12-character code of `a-z A-Z 0-9` from the seeded RNG.
    pub fn new_code(&mut self) -> String {
        (0..CODE_LENGTH)
            .map(|_| char::from(CODE_ALPHABET[self.rng.random_range(0..CODE_ALPHABET.len())]))
            .collect()
    }

    pub fn insert_code(&mut self, code: LiveCode) {
        while self.codes.len() >= CODE_CAPACITY {
            match self.code_order.pop_front() {
                Some(oldest) => {
                    self.codes.remove(&oldest);
                }
                None => break,
            }
        }
        self.code_order.push_back(code.code_id.clone());
        self.codes.insert(code.code_id.clone(), code);
    }

    /// Adds a message to the outbox, dropping the oldest beyond [`OUTBOX_CAPACITY`] (so that a
    /// client calling SendMyPasswordlessLink in a loop cannot grow the mock without bound).
    pub fn push_outbox(&mut self, message: OutboxMessage) {
        while self.outbox.len() >= OUTBOX_CAPACITY {
            self.outbox.pop_front();
        }
        self.outbox.push_back(message);
    }

    pub fn remove_code(&mut self, code_id: &str) {
        if self.codes.remove(code_id).is_some() {
            self.code_order.retain(|id| id != code_id);
        }
    }
}

/// A clock that is real or fixed, and can be moved forward (to expire codes in tests).
#[derive(Debug)]
pub(crate) struct Clock {
    fixed: Option<SystemTime>,
    offset_nanos: AtomicU64,
}

impl Clock {
    fn new(fixed: Option<SystemTime>) -> Self {
        Self {
            fixed,
            offset_nanos: AtomicU64::new(0),
        }
    }

    pub fn now(&self) -> SystemTime {
        let base = self.fixed.unwrap_or_else(SystemTime::now);
        base + Duration::from_nanos(self.offset_nanos.load(Ordering::Relaxed))
    }

    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturating: a wrapped offset would move the clock back (`fetch_add` wraps).
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                Some(offset.saturating_add(nanos))
            });
    }

    fn reset(&self) {
        self.offset_nanos.store(0, Ordering::Relaxed);
    }
}

/// The state shared by every transport and the admin API.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub clock: Clock,
    state: Mutex<State>,
    journal: Mutex<VecDeque<JournalEntry>>,
    faults: Mutex<VecDeque<Fault>>,
    /// The number of pending faults, so that calls skip the lock when there are none.
    fault_count: AtomicUsize,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the mock keeps serving).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn new(config: Config) -> Self {
        Self {
            clock: Clock::new(config.fixed_clock),
            state: Mutex::new(State::new(&config)),
            journal: Mutex::new(VecDeque::new()),
            faults: Mutex::new(VecDeque::new()),
            fault_count: AtomicUsize::new(0),
            config,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn record(&self, entry: JournalEntry) {
        tracing::debug!(
            method = entry.method,
            transport = entry.transport.as_str(),
            http_version = entry.http_version,
            code = ?entry.code,
            error_id = ?entry.error_id,
            fault = ?entry.fault,
            token = ?entry.token_fingerprint,
            "call"
        );
        let mut journal = lock(&self.journal);
        if journal.len() >= JOURNAL_CAPACITY {
            journal.pop_front();
        }
        journal.push_back(entry);
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.journal).iter().cloned().collect()
    }

    pub fn push_fault(&self, fault: Fault) {
        let mut faults = lock(&self.faults);
        faults.push_back(fault);
        self.fault_count.store(faults.len(), Ordering::Release);
    }

    /// Takes one use of the first fault matching the call, if any.
    pub fn take_fault(&self, method: &str, transport: Transport) -> Option<Fault> {
        if self.fault_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| f.matches(method, transport))?;
        let fault = faults.get_mut(index)?;
        fault.times -= 1;
        let taken = fault.clone();
        if fault.times == 0 {
            faults.remove(index);
            self.fault_count.store(faults.len(), Ordering::Release);
        }
        Some(taken)
    }

    pub fn clear_faults(&self) {
        let mut faults = lock(&self.faults);
        faults.clear();
        self.fault_count.store(0, Ordering::Release);
    }

    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).iter().cloned().collect()
    }

    /// Back to the state at start: configured users only, RNG re-seeded, clock offset cleared.
    pub fn reset(&self) {
        *self.state() = State::new(&self.config);
        lock(&self.journal).clear();
        self.clear_faults();
        self.clock.reset();
    }

    pub fn live_codes(&self) -> Vec<LiveCode> {
        let now = self.clock.now();
        let state = self.state();
        state
            .code_order
            .iter()
            .filter_map(|id| state.codes.get(id))
            .filter(|code| code.expires > now)
            .cloned()
            .collect()
    }

    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.state().outbox.iter().cloned().collect()
    }

    pub fn users(&self) -> Vec<UserInfo> {
        let state = self.state();
        let mut fingerprints: HashMap<&str, Vec<String>> = HashMap::new();
        let mut tokenless = Vec::new();
        for (token, user) in &state.tokens {
            let fingerprint = crate::journal::token_fingerprint(token);
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
        let mut users: Vec<UserInfo> = state
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

    /// Adds a READY passkey to a user (created if unknown, in the default org); returns its ID.
    pub fn add_passkey(&self, user_id: &str, name: &str) -> String {
        let mut state = self.state();
        let id = state.new_id();
        let user = state
            .users
            .entry(user_id.to_owned())
            .or_insert_with(|| User::new(DEFAULT_ORG_ID.to_owned()));
        user.sequence += 1;
        user.passkeys.push(PasskeyInfo {
            id: id.clone(),
            name: name.to_owned(),
        });
        id
    }
}

/// The stable user ID non-strict mode derives from a token: 18 decimal digits of its SHA-256.
pub fn derived_user_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first) % 900_000_000_000_000_000 + 100_000_000_000_000_000;
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            strict: false,
            seed: 1,
            code_ttl: Duration::from_secs(60),
            public_origin: None,
            fixed_clock: None,
            users: Vec::new(),
        }
    }

    #[test]
    fn the_clock_only_moves_forward() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Clock::new(Some(start));
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), start + Duration::from_secs(60));
        // Far past what the offset can hold, twice: it stays at the furthest, never wraps back.
        clock.advance(Duration::from_secs(u64::MAX));
        let far = clock.now();
        assert!(far > start + Duration::from_secs(500 * 365 * 86_400));
        clock.advance(Duration::from_secs(u64::MAX));
        assert_eq!(clock.now(), far);
    }

    #[test]
    fn the_outbox_keeps_only_the_newest_messages() {
        let mut state = State::new(&config());
        for i in 0..OUTBOX_CAPACITY + 5 {
            state.push_outbox(OutboxMessage {
                time: SystemTime::UNIX_EPOCH,
                user_id: String::new(),
                org_id: String::new(),
                code_id: i.to_string(),
                link: String::new(),
            });
        }
        assert_eq!(state.outbox.len(), OUTBOX_CAPACITY);
        assert_eq!(state.outbox.front().map(|m| m.code_id.as_str()), Some("5"));
        let last = (OUTBOX_CAPACITY + 4).to_string();
        assert_eq!(state.outbox.back().map(|m| &m.code_id), Some(&last));
    }
}
