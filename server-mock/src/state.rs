//! The mock's state, composed: what calls change together under one lock (users, codes and
//! their generator, the outbox, the OAuth device authorizations and issued tokens), and the
//! journal and faults, each under its own. The data and its rules live in their own modules
//! (`users`, `codes`, `outbox`, `oauth`, `journal`, `fault`, `clock`); this one only decides
//! what is locked together.
//!
//! One `Shared` sits behind every transport. Each lock is held only for a few map operations
//! and never across an `.await`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub use crate::codes::{CODE_CAPACITY, CODE_LENGTH, LiveCode, MAX_CODE_ATTEMPTS};
pub use crate::journal::JOURNAL_CAPACITY;
pub use crate::outbox::{OUTBOX_CAPACITY, OutboxMessage};
pub use crate::users::{DEFAULT_ORG_ID, PasskeyInfo, UserInfo, derived_user_id};

use crate::clock::Clock;
use crate::codes::{Codes, Generator};
use crate::fault::{Fault, FaultQueue};
use zitadel_passkey::Transport;

use crate::journal::{Journal, JournalEntry};
use crate::oauth::OAuthState;
use crate::outbox::Outbox;
use crate::token_digest::TokenDigest;
use crate::users::Users;

/// The configuration the mock starts with (and returns to on reset).
#[derive(Clone)]
pub(crate) struct Config {
    pub strict: bool,
    pub seed: u64,
    pub code_ttl: Duration,
    pub public_origin: Option<String>,
    /// The login page also takes a plain form `POST` without a WebAuthn credential.
    pub login_shortcut: bool,
    pub fixed_clock: Option<SystemTime>,
    pub users: Vec<(String, String, String)>,
    /// How long issued OAuth access tokens live.
    pub token_ttl: Duration,
    /// The OAuth client IDs strict mode accepts (without strict mode any non-empty one is).
    pub client_ids: Vec<String>,
    /// The polling interval device authorizations start with.
    pub device_interval: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("strict", &self.strict)
            .field("seed", &self.seed)
            .field("code_ttl", &self.code_ttl)
            .field("public_origin", &self.public_origin)
            .field("login_shortcut", &self.login_shortcut)
            .field("fixed_clock", &self.fixed_clock)
            .field("users", &self.users.len())
            .field("token_ttl", &self.token_ttl)
            .field("client_ids", &self.client_ids)
            .field("device_interval", &self.device_interval)
            .finish()
    }
}

/// Everything an RPC changes, changed together under one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub ids: Generator,
    pub users: Users,
    pub codes: Codes,
    pub outbox: Outbox,
    pub oauth: OAuthState,
}

impl State {
    fn new(config: &Config) -> Self {
        let mut users = Users::default();
        for (token, user_id, org_id) in &config.users {
            users.add(token, user_id, org_id);
        }
        State {
            ids: Generator::new(config.seed),
            users,
            codes: Codes::default(),
            outbox: Outbox::default(),
            oauth: OAuthState::default(),
        }
    }
}

/// The state shared by every transport and the admin API.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub clock: Clock,
    state: Mutex<State>,
    journal: Mutex<Journal>,
    faults: Mutex<FaultQueue>,
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
            journal: Mutex::new(Journal::default()),
            faults: Mutex::new(FaultQueue::default()),
            fault_count: AtomicUsize::new(0),
            config,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Journals a call; `token` is the digest of its bearer token, if it sent one.
    pub fn record(&self, entry: JournalEntry, token: Option<TokenDigest>) {
        lock(&self.journal).record(entry, token);
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.journal).entries()
    }

    pub fn push_fault(&self, fault: Fault) {
        let mut faults = lock(&self.faults);
        faults.push(fault);
        self.fault_count.store(faults.len(), Ordering::Release);
    }

    /// Takes one use of the first fault matching the call, if any.
    pub fn take_fault(&self, method: &str, transport: Transport) -> Option<Fault> {
        if self.fault_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut faults = lock(&self.faults);
        let taken = faults.take(method, transport);
        self.fault_count.store(faults.len(), Ordering::Release);
        taken
    }

    pub fn clear_faults(&self) {
        let mut faults = lock(&self.faults);
        faults.clear();
        self.fault_count.store(0, Ordering::Release);
    }

    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).pending()
    }

    /// Back to the state at start: configured users only, RNG re-seeded, clock offset cleared,
    /// no device authorizations or issued tokens.
    pub fn reset(&self) {
        *self.state() = State::new(&self.config);
        lock(&self.journal).clear();
        self.clear_faults();
        self.clock.reset();
    }

    pub fn add_user(&self, token: &str, user_id: &str, org_id: &str) {
        self.state().users.add(token, user_id, org_id);
    }

    pub fn live_codes(&self) -> Vec<LiveCode> {
        let now = self.clock.now();
        self.state().codes.live(now)
    }

    pub fn outbox(&self) -> Vec<OutboxMessage> {
        self.state().outbox.messages()
    }

    pub fn users(&self) -> Vec<UserInfo> {
        self.state().users.list()
    }

    /// Adds a READY passkey to a user (created if unknown, in the default org); returns its ID.
    pub fn add_passkey(&self, user_id: &str, name: &str) -> String {
        let mut state = self.state();
        let id = state.ids.new_id();
        state.users.add_passkey(user_id, id.clone(), name, None);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_goes_back_to_the_configured_users_and_seed() {
        let shared = Shared::new(Config {
            strict: false,
            seed: 1,
            code_ttl: Duration::from_secs(60),
            public_origin: None,
            login_shortcut: false,
            fixed_clock: Some(SystemTime::UNIX_EPOCH),
            users: vec![("t".to_owned(), "1".to_owned(), "2".to_owned())],
            token_ttl: Duration::from_secs(60),
            client_ids: Vec::new(),
            device_interval: Duration::from_secs(5),
        });
        let first = shared.add_passkey("1", "a");
        shared.add_user("u", "3", "4");
        shared.push_fault(Fault::drop_before_handler());
        shared.clock.advance(Duration::from_secs(5));
        assert_eq!(shared.users().len(), 2);
        shared.reset();
        assert_eq!(shared.users().len(), 1);
        assert!(shared.faults().is_empty());
        assert_eq!(shared.clock.now(), SystemTime::UNIX_EPOCH);
        assert_eq!(
            shared.add_passkey("1", "a"),
            first,
            "the generator restarted"
        );
    }
}
