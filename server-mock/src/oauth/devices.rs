//! Device authorizations: by device code, with the index of their user codes, their polling
//! state and the decision taken on them. What the admin API and `MockServer` list of them
//! ([`PendingDevice`]) never holds the device code.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::Serialize;

use super::bounded::Bounded;
use super::{DEVICE_CAPACITY, DEVICE_CODE_TTL, SLOW_DOWN_STEP};
use crate::clock::serialize_time;

/// The letters of user codes: no vowels (no words), none that read like digits.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code (shown as two groups of four).
const USER_CODE_LETTERS: usize = 8;

/// A device authorization as the admin API lists it: never its device code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PendingDevice {
    /// The user code, `XXXX-XXXX`.
    pub user_code: String,
    /// The client that started it.
    pub client_id: String,
    /// The scopes asked for, each once, in the order asked.
    pub scopes: Vec<String>,
    /// Whether it is still to be decided, approved or denied.
    pub status: DeviceStatus,
    /// The user it was approved for.
    pub user_id: Option<String>,
    /// The org of that user (the org the tokens act in).
    pub org_id: Option<String>,
    /// When it was started.
    #[serde(serialize_with = "serialize_time")]
    pub created: SystemTime,
    /// When its codes stop working (300 s after the start).
    #[serde(serialize_with = "serialize_time")]
    pub expires: SystemTime,
}

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceStatus {
    /// Waiting for the person to allow or deny it.
    Pending,
    /// Allowed: the next poll gets tokens.
    Approved,
    /// Denied: polls get `access_denied`.
    Denied,
}

/// Why a user code could not be approved or denied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceError {
    /// No authorization has this user code: it never had, it expired, its tokens were already
    /// fetched, or it was evicted.
    UnknownCode,
    /// It was approved or denied already.
    AlreadyDecided,
    /// The user to approve as was given, but empty.
    EmptyUserId,
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceError::UnknownCode => "the user code is invalid or has expired",
            DeviceError::AlreadyDecided => "the device authorization was already decided",
            DeviceError::EmptyUserId => "the user ID is empty",
        })
    }
}

impl std::error::Error for DeviceError {}

/// The decision on an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Pending,
    Approved { user_id: String, org_id: String },
    Denied,
}

/// One device authorization.
#[derive(Debug)]
pub(crate) struct Device {
    /// The eight letters, without the dash.
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created: SystemTime,
    pub expires: SystemTime,
    /// The interval the client must keep between polls (grows with each `slow_down`).
    pub interval: Duration,
    pub last_poll: Option<SystemTime>,
    pub decision: Decision,
}

impl Device {
    pub(crate) fn expired(&self, now: SystemTime) -> bool {
        now >= self.expires
    }

    /// Notes a poll of an undecided authorization: `false` (and a longer interval) when it came
    /// sooner than the interval after the last one.
    pub(crate) fn poll(&mut self, now: SystemTime) -> bool {
        let too_soon = self.last_poll.is_some_and(|last| {
            now.duration_since(last)
                .map_or(true, |since| since < self.interval)
        });
        self.last_poll = Some(now);
        if too_soon {
            self.interval = self.interval.saturating_add(SLOW_DOWN_STEP);
        }
        !too_soon
    }

    fn listed(&self) -> PendingDevice {
        let (status, user_id, org_id) = match &self.decision {
            Decision::Pending => (DeviceStatus::Pending, None, None),
            Decision::Approved { user_id, org_id } => (
                DeviceStatus::Approved,
                Some(user_id.clone()),
                Some(org_id.clone()),
            ),
            Decision::Denied => (DeviceStatus::Denied, None, None),
        };
        PendingDevice {
            user_code: display_user_code(&self.user_code),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            status,
            user_id,
            org_id,
            created: self.created,
            expires: self.expires,
        }
    }
}

/// The authorizations by device code, and which device code each user code belongs to.
pub(crate) struct Devices {
    by_device_code: Bounded<Device>,
    by_user_code: HashMap<String, String>,
}

/// Counts only: device codes are secrets.
impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices")
            .field("authorizations", &self.by_device_code.len())
            .finish()
    }
}

impl Default for Devices {
    fn default() -> Self {
        Self::with_capacity(DEVICE_CAPACITY)
    }
}

impl Devices {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            by_device_code: Bounded::new(capacity),
            by_user_code: HashMap::new(),
        }
    }

    /// Starts an authorization; returns its device code and user code (`XXXX-XXXX`).
    pub(crate) fn start(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        interval: Duration,
        now: SystemTime,
    ) -> (String, String) {
        let device_code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let user_code = loop {
            let code = new_user_code();
            if !self.by_user_code.contains_key(&code) {
                break code;
            }
        };
        let device = Device {
            user_code: user_code.clone(),
            client_id: client_id.to_owned(),
            scopes,
            created: now,
            expires: now.checked_add(DEVICE_CODE_TTL).unwrap_or(now),
            interval,
            last_poll: None,
            decision: Decision::Pending,
        };
        self.by_user_code
            .insert(user_code.clone(), device_code.clone());
        for (_, evicted) in self.by_device_code.insert(device_code.clone(), device) {
            self.by_user_code.remove(&evicted.user_code);
        }
        (device_code, display_user_code(&user_code))
    }

    pub(crate) fn get_mut(&mut self, device_code: &str) -> Option<&mut Device> {
        self.by_device_code.get_mut(device_code)
    }

    /// Removes an authorization (its tokens were fetched).
    pub(crate) fn remove(&mut self, device_code: &str) {
        if let Some(device) = self.by_device_code.remove(device_code) {
            self.by_user_code.remove(&device.user_code);
        }
    }

    /// The live authorization a user code (with or without the dash, any case) names.
    pub(crate) fn by_user_code(&self, user_code: &str, now: SystemTime) -> Option<&Device> {
        let device_code = self.by_user_code.get(&normalize_user_code(user_code)?)?;
        self.by_device_code
            .get(device_code)
            .filter(|device| !device.expired(now))
    }

    /// The live authorization a user code names, if it is still to be decided.
    pub(crate) fn undecided(&self, user_code: &str, now: SystemTime) -> Option<PendingDevice> {
        self.by_user_code(user_code, now)
            .filter(|device| device.decision == Decision::Pending)
            .map(Device::listed)
    }

    /// Decides a live, undecided authorization.
    pub(crate) fn decide(
        &mut self,
        user_code: &str,
        decision: Decision,
        now: SystemTime,
    ) -> Result<PendingDevice, DeviceError> {
        let device_code = normalize_user_code(user_code)
            .and_then(|code| self.by_user_code.get(&code))
            .ok_or(DeviceError::UnknownCode)?;
        let device = self
            .by_device_code
            .get_mut(device_code)
            .filter(|device| !device.expired(now))
            .ok_or(DeviceError::UnknownCode)?;
        if device.decision != Decision::Pending {
            return Err(DeviceError::AlreadyDecided);
        }
        device.decision = decision;
        Ok(device.listed())
    }

    /// The authorizations not expired at `now` (their tokens not fetched yet), oldest first.
    pub(crate) fn list(&self, now: SystemTime) -> Vec<PendingDevice> {
        self.by_device_code
            .values()
            .filter(|device| !device.expired(now))
            .map(Device::listed)
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_device_code.len()
    }
}

/// Eight letters of [`USER_CODE_ALPHABET`] from the operating system's randomness.
fn new_user_code() -> String {
    let mut rng = rand::rng();
    (0..USER_CODE_LETTERS)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// `GQWCFWFK` as people read it: `GQWC-FWFK`.
pub(crate) fn display_user_code(letters: &str) -> String {
    let (first, second) = letters.split_at(letters.len().min(USER_CODE_LETTERS / 2));
    format!("{first}-{second}")
}

/// A user code as typed (`gqwc-fwfk`, `GQWC FWFK`, `GQWCFWFK`) as its eight letters, if it can
/// be one.
pub(crate) fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = letters.len() == USER_CODE_LETTERS
        && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(letters)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn user_codes_read_as_people_type_them() {
        let code = new_user_code();
        assert_eq!(code.len(), USER_CODE_LETTERS);
        assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(display_user_code("GQWCFWFK"), "GQWC-FWFK");
        for typed in ["GQWC-FWFK", "gqwc-fwfk", " GQWC FWFK ", "GQWCFWFK"] {
            assert_eq!(
                normalize_user_code(typed).as_deref(),
                Some("GQWCFWFK"),
                "{typed}"
            );
        }
        for typed in ["GQWC-FWFA", "GQWC-FWF", "GQWC-FWFKK", "", "ÄQWC-FWFK"] {
            assert_eq!(normalize_user_code(typed), None, "{typed}");
        }
    }

    #[test]
    fn decisions_polls_and_eviction() {
        let mut devices = Devices::with_capacity(2);
        let (first, user_code) = devices.start("c", vec!["openid".to_owned()], SLOW_DOWN_STEP, NOW);
        assert_eq!(first.len(), 43);
        assert!(!format!("{devices:?}").contains(&first));
        let device = devices.get_mut(&first).expect("started");
        assert!(device.poll(NOW), "the first poll is never too soon");
        assert!(!device.poll(NOW + Duration::from_secs(4)), "too soon");
        assert_eq!(device.interval, Duration::from_secs(10));
        assert!(device.poll(NOW + Duration::from_secs(14)));
        let approved = Decision::Approved {
            user_id: "u".to_owned(),
            org_id: "o".to_owned(),
        };
        let lower = user_code.to_lowercase();
        let listed = devices
            .decide(&lower, approved.clone(), NOW)
            .expect("decided");
        assert_eq!(listed.status, DeviceStatus::Approved);
        assert_eq!(listed.user_id.as_deref(), Some("u"));
        assert_eq!(
            devices.decide(&user_code, Decision::Denied, NOW),
            Err(DeviceError::AlreadyDecided)
        );
        assert_eq!(
            devices.decide("BBBB-BBBB", Decision::Denied, NOW),
            Err(DeviceError::UnknownCode)
        );
        // Expired authorizations are neither decided nor listed.
        let (_, second_code) = devices.start("c", Vec::new(), SLOW_DOWN_STEP, NOW);
        let later = NOW + DEVICE_CODE_TTL;
        assert_eq!(
            devices.decide(&second_code, Decision::Denied, later),
            Err(DeviceError::UnknownCode)
        );
        assert_eq!(devices.list(NOW).len(), 2);
        assert!(devices.list(later).is_empty());
        // A third evicts the first, and its user code with it.
        devices.start("c", Vec::new(), SLOW_DOWN_STEP, NOW);
        assert_eq!(devices.len(), 2);
        assert!(devices.get_mut(&first).is_none());
        assert!(devices.by_user_code(&user_code, NOW).is_none());
        assert_eq!(devices.by_user_code.len(), 2);
    }
}
