//! What an audit record records: every action the audit trail knows, with the name stored in
//! `audit_logs.action` (and filtered on by `GET /admin/v1/audit?action=`). One list, so the CLI
//! and the API name a change alike and a typo is a compile error, not a new action.

use std::fmt;

macro_rules! actions {
    ($($variant:ident = $name:literal,)*) => {
        /// An audited action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, for documentation and tests.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name stored in `audit_logs.action`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    Login = "login",
    Logout = "logout",
    Lock = "lock",
    Consent = "consent",
    RefreshFamilyRevoked = "refresh_family_revoked",
    ClientCreate = "client.create",
    ClientUpdate = "client.update",
    ClientDelete = "client.delete",
    UserCreate = "user.create",
    UserUpdate = "user.update",
    UserDelete = "user.delete",
    UserBlock = "user.block",
    UserUnblock = "user.unblock",
    UserUnlock = "user.unlock",
    UserRoleChange = "user.role_change",
    UserPermissionGrant = "user.permission_grant",
    UserPermissionRevoke = "user.permission_revoke",
    UserSessionsRevoke = "user.sessions_revoke",
    UserMfaReset = "user.mfa_reset",
    UserFederationLink = "user.federation_link",
    RoleCreate = "role.create",
    RoleUpdate = "role.update",
    RoleDelete = "role.delete",
    ApplicationCreate = "application.create",
    ApplicationUpdate = "application.update",
    ApplicationDelete = "application.delete",
    ApplicationSecretRotate = "application.secret_rotate",
    IdpRead = "idp.read",
    IdpCreate = "idp.create",
    IdpUpdate = "idp.update",
    IdpDelete = "idp.delete",
    IdpPasswordSessionsEnd = "idp.password_sessions_end",
    ProfileUpdate = "profile.update",
    PasswordChange = "password.change",
    PasswordReset = "password.reset",
    PasswordResetRequested = "password.reset_requested",
    SessionRevoke = "session.revoke",
    MfaEnrol = "mfa.enrol",
    MfaRemove = "mfa.remove",
    MfaRecoveryCodes = "mfa.recovery_codes",
    Verify = "verify",
    BackchannelLogout = "backchannel_logout",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
