//! `link --open` against the embedded mock: the whole journey on this machine. The mock keeps
//! serving after the link is printed, the browser opens the link on `localhost` (an IP address
//! cannot be a WebAuthn RP ID; the mock's page runs a real registration there), and the command
//! waits until the passkey is registered, the code is gone, it expires, or Ctrl-C.

use std::time::Duration;

use zitadel_passkey_mock::MockServer;

/// How often the mock's state is looked at while waiting.
const POLL: Duration = Duration::from_millis(200);

/// The embedded mock and the link whose registration is awaited.
pub(crate) struct Journey {
    mock: MockServer,
    user_id: String,
    code_id: String,
    expires_in: Duration,
}

/// How the wait ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The user registered a passkey with this name.
    Registered(String),
    /// The code is gone without a passkey (three wrong tries, or used by another path).
    CodeGone,
    /// The link expired.
    Expired,
    /// Ctrl-C.
    Interrupted,
}

impl Journey {
    pub(crate) fn new(mock: MockServer, link: &zitadel_passkey::PasskeyLink) -> Self {
        Self {
            mock,
            user_id: link.user_id().to_owned(),
            code_id: link.code_id().to_owned(),
            expires_in: link.expires_in(),
        }
    }

    /// The link as the browser should open it: on `localhost` instead of the mock's loopback
    /// IP address (same port, same page).
    pub(crate) fn browser_url(&self, link: &str) -> String {
        let ip_origin = self.mock.uri();
        match link.strip_prefix(&ip_origin) {
            Some(rest) => format!("http://localhost:{}{rest}", self.mock.local_addr().port()),
            None => link.to_owned(),
        }
    }

    fn passkey_names(&self) -> Vec<String> {
        self.mock
            .users()
            .into_iter()
            .filter(|user| user.user_id == self.user_id)
            .flat_map(|user| user.passkeys)
            .map(|passkey| passkey.name)
            .collect()
    }

    /// Serves the page until the journey ends.
    pub(crate) async fn wait(&self) -> End {
        let before = self.passkey_names().len();
        let deadline = tokio::time::Instant::now() + self.expires_in;
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        loop {
            tokio::select! {
                _ = &mut interrupted => return End::Interrupted,
                () = tokio::time::sleep(POLL) => {}
            }
            let live = self
                .mock
                .live_codes()
                .iter()
                .any(|code| code.code_id == self.code_id);
            if !live {
                let names = self.passkey_names();
                return match names.get(before) {
                    Some(name) if names.len() > before => End::Registered(name.clone()),
                    _ => End::CodeGone,
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return End::Expired;
            }
        }
    }
}

impl End {
    /// The line for stderr.
    pub(crate) fn note(&self) -> String {
        match self {
            End::Registered(name) => {
                format!("passkey {name:?} registered in the browser; the embedded mock stops now")
            }
            End::CodeGone => "note: the link's code is no longer valid (three wrong tries?); \
                              the embedded mock stops now"
                .to_owned(),
            End::Expired => "note: the link expired; the embedded mock stops now".to_owned(),
            End::Interrupted => "note: interrupted; the embedded mock stops now".to_owned(),
        }
    }
}
