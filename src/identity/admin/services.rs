//! What the admin services share: the stores, the clock, the audit trail and the request they
//! act for; and one service per resource, each reached from it ([`AdminServices::users`],
//! [`AdminServices::accounts`], [`AdminServices::roles`], [`AdminServices::applications`],
//! [`AdminServices::idps`], [`AdminServices::audit_trail`]). The admin API, the CLI and the console all go through these, so
//! every permission check and audit record is the same whichever door a change comes through.

use std::ops::Deref;

use super::AdminError;
use super::principal::{Denied, Principal};
use crate::audit::{Action, AuditRecord, Auditor, Outcome, RequestContext};
use crate::clock::Clock;
use crate::store::Database;

/// What every admin service needs, for one request.
pub struct AdminServices<'a> {
    pub db: &'a dyn Database,
    /// Typed hot state: revocation generations and browser sessions.
    pub state: &'a crate::store::hot::HotState,
    pub clock: &'a dyn Clock,
    pub audit: &'a Auditor,
    /// The CloudEvents source (the issuer).
    pub source: &'a str,
    pub ctx: RequestContext,
    /// Security notices by mail.
    pub notifier: &'a crate::notify::Notifier,
}

/// Declares a per-resource service over [`AdminServices`] and its accessor.
macro_rules! resource {
    ($(#[$meta:meta])* $name:ident, $accessor:ident) => {
        $(#[$meta])*
        pub struct $name<'a>(&'a AdminServices<'a>);

        impl<'a> Deref for $name<'a> {
            type Target = AdminServices<'a>;

            fn deref(&self) -> &AdminServices<'a> {
                self.0
            }
        }

        impl<'a> AdminServices<'a> {
            pub fn $accessor(&'a self) -> $name<'a> {
                $name(self)
            }
        }
    };
}

resource!(
    /// Users: create, read, block, unlock, roles and permissions, profile, erasure.
    UserAdmin,
    users
);
resource!(
    /// B2B accounts and their admins.
    AccountAdmin,
    accounts
);
resource!(
    /// Roles and their permissions.
    RoleAdmin,
    roles
);
resource!(
    /// OAuth applications and their secrets.
    ApplicationAdmin,
    applications
);
resource!(
    /// The identity providers of B2B accounts.
    IdpAdmin,
    idps
);
resource!(
    /// The audit trail, as admins read it.
    AuditAdmin,
    audit_trail
);

impl AdminServices<'_> {
    /// Puts an administrative action (done or refused) on the audit trail.
    pub(super) async fn record_change(
        &self,
        who: &Principal,
        action: Action,
        target: (&str, &str),
        account: Option<crate::model::account::AccountId>,
        outcome: Outcome,
        details: serde_json::Value,
    ) {
        let (target_type, target_id) = target;
        let mut record = AuditRecord::change(self.clock.now(), action, target_type, target_id, account, details);
        record.actor_type = who.actor_type;
        record.actor_id = Some(who.actor_id.clone());
        record.outcome = outcome;
        record.ip = self.ctx.ip.clone();
        record.user_agent = self.ctx.user_agent.clone();
        self.audit.record_or_log(record).await;
    }

    /// Audits a refusal of `action` on `target` and turns it into the error.
    pub(super) async fn refuse_change(
        &self,
        who: &Principal,
        action: Action,
        target: (&str, &str),
        account: Option<crate::model::account::AccountId>,
        denied: Denied,
    ) -> AdminError {
        let details = serde_json::json!({ "reason": denied.0 });
        self.record_change(who, action, target, account, Outcome::Denied, details)
            .await;
        AdminError::Forbidden(denied.0)
    }

    /// Runs `write` between two moves of `generation`, if any (see [`crate::oauth::revocation::around`]).
    pub(super) async fn ending<T>(
        &self,
        generation: Option<crate::oauth::revocation::Generation<'_>>,
        write: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
    ) -> Result<T, AdminError> {
        let which: Vec<_> = generation.into_iter().collect();
        Ok(crate::oauth::revocation::around(self.state, &which, self.clock.now(), write).await?)
    }
}
