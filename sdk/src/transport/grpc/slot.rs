//! The per-call [`Slot`] where the guards leave what they learned, for the stub to read after
//! tonic returns: tonic turns every body error into its own `Status`, which would lose whether
//! the request was sent and what exactly broke.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Error;

/// What the guards learned during one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<SlotState>>);

#[derive(Debug, Default)]
struct SlotState {
    failure: Option<Error>,
    /// ZITADEL's `ErrorDetail` (id, message) from `grpc-status-details-bin`.
    detail: Option<(String, String)>,
    /// The `grpc-status` the server sent.
    server_status: Option<i32>,
    /// Whether a message frame arrived.
    saw_message: bool,
}

impl Slot {
    fn with<T>(&self, f: impl FnOnce(&mut SlotState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records a failure; the first one wins (later ones are its consequences). Returns what to
    /// hand to tonic in its place.
    pub(crate) fn fail(&self, error: Error) -> GuardError {
        let message = error.message().to_owned();
        self.with(|state| {
            state.failure.get_or_insert(error);
        });
        GuardError(message)
    }

    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.with(|state| state.failure.take())
    }

    pub(crate) fn set_status(&self, code: i32) {
        self.with(|state| state.server_status = Some(code));
    }

    pub(crate) fn server_status(&self) -> Option<i32> {
        self.with(|state| state.server_status)
    }

    pub(crate) fn set_detail(&self, detail: Option<(String, String)>) {
        self.with(|state| state.detail = detail);
    }

    pub(crate) fn detail(&self) -> Option<(String, String)> {
        self.with(|state| state.detail.clone())
    }

    pub(crate) fn set_saw_message(&self) {
        self.with(|state| state.saw_message = true);
    }

    pub(crate) fn saw_message(&self) -> bool {
        self.with(|state| state.saw_message)
    }
}

/// The error a guard hands to tonic; the real one is in the [`Slot`].
#[derive(Debug)]
pub(crate) struct GuardError(String);

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuardError {}
