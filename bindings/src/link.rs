//! The results: [`PasskeyLink`] (an object, so that its string form can hide the code),
//! [`Passkey`] and [`ObjectDetails`].

use std::fmt;
use std::time::{Duration, SystemTime};

use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;

/// A one-time passkey registration link.
///
/// Its string form (`toString()` in Kotlin, `str()`/`repr()` in Python, `description` in
/// Swift) shows the link with the code as `***`; only `url()` gives the code out.
/// (An object rather than a record: a Kotlin data class's `toString` would print every field.)
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct PasskeyLink {
    inner: zitadel_passkey::PasskeyLink,
}

impl From<zitadel_passkey::PasskeyLink> for PasskeyLink {
    fn from(inner: zitadel_passkey::PasskeyLink) -> PasskeyLink {
        PasskeyLink { inner }
    }
}

#[uniffi::export]
impl PasskeyLink {
    /// The full link, one-time code included: give it only to the user it is for.
    pub fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    /// The link with the one-time code replaced by `***`, safe to log.
    pub fn redacted_url(&self) -> String {
        self.inner.redacted_url()
    }

    /// The user the link registers a passkey for (`userID`).
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_owned()
    }

    /// The user's organisation (`orgID`).
    pub fn org_id(&self) -> String {
        self.inner.org_id().to_owned()
    }

    /// The ID of the one-time code (`codeID`).
    pub fn code_id(&self) -> String {
        self.inner.code_id().to_owned()
    }

    /// How long the code lives from its creation (zero if the server sent no expiration).
    pub fn expires_in(&self) -> Duration {
        self.inner.expires_in()
    }

    /// When the code expires by this device's clock (none if the server sent no expiration).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at()
    }

    /// The details of the event that created the code.
    pub fn details(&self) -> ObjectDetails {
        ObjectDetails::from(self.inner.details().clone())
    }
}

/// The link with the code as `***`.
impl fmt::Display for PasskeyLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// The SDK's redacted `Debug`.
impl fmt::Debug for PasskeyLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// The details of a change (ZITADEL's `zitadel.v1.ObjectDetails`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ObjectDetails {
    /// The sequence number of the event on the user's history.
    pub sequence: u64,
    /// When the object was created (set by add and send).
    pub creation_date: Option<SystemTime>,
    /// When the object was changed (set by remove).
    pub change_date: Option<SystemTime>,
    /// The organisation that owns the object.
    pub resource_owner: String,
}

impl From<zitadel_passkey::ObjectDetails> for ObjectDetails {
    fn from(details: zitadel_passkey::ObjectDetails) -> ObjectDetails {
        // The SDK has checked the timestamps' ranges, so the conversions succeed.
        let time = |t: Option<zitadel_passkey::wkt::Timestamp>| t.and_then(|t| t.try_into().ok());
        ObjectDetails {
            sequence: details.sequence,
            creation_date: time(details.creation_date),
            change_date: time(details.change_date),
            resource_owner: details.resource_owner,
        }
    }
}

/// The state of a passkey (ZITADEL lists only ready ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PasskeyState {
    /// Unknown.
    Unspecified,
    /// Registration started, not finished.
    NotReady,
    /// Usable.
    Ready,
    /// Removed.
    Removed,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Passkey {
    /// Its ID, for `remove_passkey`.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// Its state.
    pub state: PasskeyState,
}

impl From<zitadel_passkey::Passkey> for Passkey {
    fn from(passkey: zitadel_passkey::Passkey) -> Passkey {
        let state = match passkey.state() {
            AuthFactorState::Unspecified => PasskeyState::Unspecified,
            AuthFactorState::NotReady => PasskeyState::NotReady,
            AuthFactorState::Ready => PasskeyState::Ready,
            AuthFactorState::Removed => PasskeyState::Removed,
        };
        Passkey {
            id: passkey.id().to_owned(),
            name: passkey.name().to_owned(),
            state,
        }
    }
}
