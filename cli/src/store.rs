//! Where `login` keeps a person's tokens between commands: the OS keyring (Keychain, Windows
//! Credential Manager, the Secret Service) when one answers, else a JSON file in the user's
//! config directory that only the user can read (0600, in a 0700 directory). One login per
//! instance, keyed by its endpoint.
//!
//! `ZITADEL_PASSKEY_STORE=file` picks the file even where a keyring exists, and
//! `ZITADEL_PASSKEY_CONFIG_DIR` moves the file's directory (both for tests and for machines
//! whose keyring should not be used).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zitadel_passkey::Tokens;

/// The keyring's service name.
const SERVICE: &str = "zitadel-passkey";
/// The file's name in the config directory.
const FILE_NAME: &str = "logins.json";

/// A stored sign-in: which instance, which app (the OAuth client), and the tokens.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Login {
    pub endpoint: String,
    pub client_id: String,
    pub tokens: Tokens,
}

/// The tokens stay out of `Debug`.
impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The place logins are kept.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Keyring,
    File(PathBuf),
}

/// The key of an endpoint: without a trailing slash, so `https://x/` and `https://x` are one.
pub(crate) fn key(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_owned()
}

impl Store {
    /// The keyring if one answers here (and `ZITADEL_PASSKEY_STORE` does not say `file`), else
    /// the file; an error when neither has a place (no config directory).
    pub(crate) fn choose() -> Result<Store, String> {
        let forced_file = std::env::var("ZITADEL_PASSKEY_STORE").is_ok_and(|v| v == "file");
        if !forced_file && keyring_answers() {
            return Ok(Store::Keyring);
        }
        let dir = match std::env::var_os("ZITADEL_PASSKEY_CONFIG_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => dirs::config_dir()
                .ok_or("no keyring answers and this system has no config directory to keep the tokens in")?
                .join("zitadel-passkey"),
        };
        Ok(Store::File(dir.join(FILE_NAME)))
    }

    /// Where the tokens are, for people.
    pub(crate) fn describe(&self) -> String {
        match self {
            Store::Keyring => format!("the system keyring (service {SERVICE:?})"),
            Store::File(path) => format!("{} (readable only by you)", path.display()),
        }
    }

    /// The login for `endpoint`, if there is one.
    pub(crate) fn load(&self, endpoint: &str) -> Result<Option<Login>, String> {
        let key = key(endpoint);
        match self {
            Store::Keyring => {
                let entry = keyring_entry(&key)?;
                match entry.get_password() {
                    Ok(json) => parse(&json).map(Some),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(format!("cannot read the keyring: {e}")),
                }
            }
            Store::File(path) => Ok(read_file(path)?.remove(&key)),
        }
    }

    /// Keeps `login` (replacing an earlier one for its endpoint).
    pub(crate) fn save(&self, login: &Login) -> Result<(), String> {
        let key = key(&login.endpoint);
        match self {
            Store::Keyring => {
                let json = serde_json::to_string(login).map_err(|e| e.to_string())?;
                keyring_entry(&key)?
                    .set_password(&json)
                    .map_err(|e| format!("cannot write to the keyring: {e}"))
            }
            Store::File(path) => {
                let mut logins = read_file(path)?;
                logins.insert(key, login.clone());
                write_file(path, &logins)
            }
        }
    }

    /// Forgets the login for `endpoint`; `false` if there was none.
    pub(crate) fn delete(&self, endpoint: &str) -> Result<bool, String> {
        let key = key(endpoint);
        match self {
            Store::Keyring => match keyring_entry(&key)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(format!("cannot delete from the keyring: {e}")),
            },
            Store::File(path) => {
                let mut logins = read_file(path)?;
                let removed = logins.remove(&key).is_some();
                if removed {
                    write_file(path, &logins)?;
                }
                Ok(removed)
            }
        }
    }
}

/// Whether a keyring store is set up here and answers a read (a headless Linux machine has
/// the library but no Secret Service running).
fn keyring_answers() -> bool {
    if keyring::Entry::store_status().is_err() {
        return false;
    }
    match keyring::Entry::new(SERVICE, "probe") {
        Ok(entry) => matches!(entry.get_password(), Ok(_) | Err(keyring::Error::NoEntry)),
        Err(_) => false,
    }
}

fn keyring_entry(key: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(SERVICE, key).map_err(|e| format!("cannot use the keyring: {e}"))
}

fn parse(json: &str) -> Result<Login, String> {
    serde_json::from_str(json)
        .map_err(|e| format!("the stored login is unreadable ({e}); sign in again"))
}

fn read_file(path: &Path) -> Result<BTreeMap<String, Login>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is unreadable ({e}); delete it and sign in again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the file whole: a temporary file created 0600 beside it, then renamed over it, so a
/// crash never leaves half a file and the tokens are never readable by others, not even briefly.
fn write_file(path: &Path, logins: &BTreeMap<String, Login>) -> Result<(), String> {
    let dir = path.parent().ok_or("the token file has no directory")?;
    create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_vec_pretty(logins).map_err(|e| e.to_string())?;
    let temporary = path.with_extension("json.tmp");
    // A leftover from a crash keeps its old mode when reopened: start afresh.
    let _ = std::fs::remove_file(&temporary);
    write_private(&temporary, &json)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            format!("cannot write {}: {e}", path.display())
        })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    // The user's own profile directory already keeps others out on Windows.
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
