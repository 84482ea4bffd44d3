//! Deciding a device authorization, for the `/device` page, the admin API and `MockServer`
//! alike: who is approved (the mock has no passwords, the approver names the user) and in which
//! org.

use super::DEFAULT_APPROVER_TOKEN;
use super::devices::{Decision, DeviceError, PendingDevice};
use crate::state::Shared;
use crate::users::{DEFAULT_ORG_ID, derived_user_id};

impl Shared {
    /// Who approves when no user is named: the first configured user with a user ID, else the
    /// user derived from [`DEFAULT_APPROVER_TOKEN`].
    pub(crate) fn default_approver(&self) -> String {
        self.config
            .users
            .iter()
            .map(|(_, user_id, _)| user_id)
            .find(|user_id| !user_id.is_empty())
            .cloned()
            .unwrap_or_else(|| derived_user_id(DEFAULT_APPROVER_TOKEN))
    }

    /// Approves the authorization of `user_code` for `user_id` (the default approver if `None`)
    /// in `org_id` (if `None`: the user's org, the default org for a derived or unknown user).
    pub(crate) fn approve_device(
        &self,
        user_code: &str,
        user_id: Option<&str>,
        org_id: Option<&str>,
    ) -> Result<PendingDevice, DeviceError> {
        let user_id = match user_id {
            Some("") => return Err(DeviceError::EmptyUserId),
            Some(user_id) => user_id.to_owned(),
            None => self.default_approver(),
        };
        let now = self.clock.now();
        let mut state = self.state();
        let org_id = match org_id.filter(|org| !org.is_empty()) {
            Some(org) => org.to_owned(),
            None => state
                .users
                .org_of(&user_id)
                .unwrap_or(DEFAULT_ORG_ID)
                .to_owned(),
        };
        let decision = Decision::Approved {
            user_id,
            org_id: org_id.clone(),
        };
        let decided = state.oauth.devices.decide(user_code, decision, now)?;
        // The org the tokens act in exists from now on (for `x-zitadel-orgid`).
        state.users.know_org(&org_id);
        Ok(decided)
    }

    /// Denies the authorization of `user_code`: its next poll gets `access_denied`.
    pub(crate) fn deny_device(&self, user_code: &str) -> Result<PendingDevice, DeviceError> {
        let now = self.clock.now();
        self.state()
            .oauth
            .devices
            .decide(user_code, Decision::Denied, now)
    }

    /// The authorizations that are not expired and whose tokens were not fetched yet.
    pub(crate) fn pending_devices(&self) -> Vec<PendingDevice> {
        let now = self.clock.now();
        self.state().oauth.devices.list(now)
    }
}
