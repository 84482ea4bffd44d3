//! The outbox: the links SendMyPasswordlessLink would have e-mailed, newest last.

use std::collections::VecDeque;
use std::time::SystemTime;

use serde::Serialize;

use crate::clock::serialize_time;

/// At most this many outbox messages are kept (the oldest go first).
pub const OUTBOX_CAPACITY: usize = 10_000;

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

/// The messages "sent" so far, at most [`OUTBOX_CAPACITY`].
#[derive(Default)]
pub(crate) struct Outbox {
    messages: VecDeque<OutboxMessage>,
}

/// A count only: the links hold codes.
impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("messages", &self.messages.len())
            .finish()
    }
}

impl Outbox {
    /// Adds a message, dropping the oldest beyond [`OUTBOX_CAPACITY`] (so that a client calling
    /// SendMyPasswordlessLink in a loop cannot grow the mock without bound).
    pub(crate) fn push(&mut self, message: OutboxMessage) {
        while self.messages.len() >= OUTBOX_CAPACITY {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }

    /// Every message kept, oldest first.
    pub(crate) fn messages(&self) -> Vec<OutboxMessage> {
        self.messages.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_keeps_only_the_newest_messages() {
        let mut outbox = Outbox::default();
        for i in 0..OUTBOX_CAPACITY + 5 {
            outbox.push(OutboxMessage {
                time: SystemTime::UNIX_EPOCH,
                user_id: String::new(),
                org_id: String::new(),
                code_id: i.to_string(),
                link: String::new(),
            });
        }
        let messages = outbox.messages();
        assert_eq!(messages.len(), OUTBOX_CAPACITY);
        assert_eq!(messages.first().map(|m| m.code_id.as_str()), Some("5"));
        let last = (OUTBOX_CAPACITY + 4).to_string();
        assert_eq!(messages.last().map(|m| &m.code_id), Some(&last));
    }
}
