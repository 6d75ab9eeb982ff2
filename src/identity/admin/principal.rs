//! Who is administering, and what they may touch (DESIGN.md, permission model): staff act
//! across B2B accounts; an account's admins only on users of their own account, never on staff,
//! granting only account roles whose permissions they hold themselves, and never raising
//! themselves.

use crate::audit::ActorType;
use crate::model::account::AccountId;
use crate::model::permission::Permission;
use crate::model::permission::Target;
use crate::model::role::{Role, RoleScope};
use crate::model::user::User;
use crate::oauth::token::AccessClaims;

/// The caller of an administrative action.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor_type: ActorType,
    /// The user id, or the application's client_id for a service.
    pub actor_id: String,
    /// `Some` for an account's admins and services: they act only there.
    pub account: Option<AccountId>,
    pub permissions: Vec<Permission>,
}

/// A refusal, with the reason shown to the caller and recorded in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl Principal {
    /// The host operator at the command line: staff, every permission.
    pub fn cli() -> Self {
        Self {
            actor_type: ActorType::System,
            actor_id: "cli".into(),
            account: None,
            permissions: Permission::parse("*:*").into_iter().collect(),
        }
    }

    /// The principal of an access token (a user's, or a service's own).
    pub fn from_claims(claims: &AccessClaims) -> Self {
        let service = claims.sub == claims.client_id;
        Self {
            actor_type: if service {
                ActorType::Application
            } else {
                ActorType::User
            },
            actor_id: claims.sub.clone(),
            account: claims.account_id.as_deref().and_then(|a| AccountId::parse(a).ok()),
            permissions: claims
                .permissions
                .iter()
                .filter_map(|p| Permission::parse(p).ok())
                .collect(),
        }
    }

    /// May use `wanted` on something in `target` (`None`: staff, or no account) — the same
    /// decision as `/authz/check` ([`crate::model::permission::decide_for`]).
    pub fn check(&self, wanted: &str, target: Option<AccountId>) -> Result<(), Denied> {
        let Ok(wanted) = Permission::parse(wanted) else {
            return Err(Denied(format!("{wanted} is not a permission")));
        };
        let target = target.map_or(Target::Platform, Target::Account);
        let decision = crate::model::permission::decide_for(&self.permissions, self.account, &wanted, target);
        if decision.allowed {
            return Ok(());
        }
        Err(Denied(match (self.account, target) {
            (Some(own), Target::Account(t)) if own != t => "the user belongs to another B2B account".into(),
            (Some(_), Target::Platform) => decision.reason,
            _ => format!("the {wanted} permission is required"),
        }))
    }

    /// May act on `user` with `wanted`; acting on oneself is refused for changes.
    pub fn check_user(&self, wanted: &str, user: &User) -> Result<(), Denied> {
        if wanted != "users:read" && user.id.to_string() == self.actor_id {
            return Err(Denied("administrators cannot change their own account here".into()));
        }
        self.check(wanted, user.client_id)
    }

    /// May hand out `role` to a user of `target`: its scope must fit, and an account's admins may
    /// grant only what they hold themselves.
    pub fn check_grant(&self, role: &Role, target: Option<AccountId>) -> Result<(), Denied> {
        match (role.scope, target) {
            (RoleScope::Staff, Some(_)) => return Err(Denied(format!("{} is a staff role", role.name))),
            (RoleScope::Account, None) => return Err(Denied(format!("{} is an account role", role.name))),
            _ => {}
        }
        let lacking = role
            .permissions
            .iter()
            .find(|p| !self.permissions.iter().any(|mine| mine.covers(p)));
        if let (Some(_), Some(p)) = (self.account, lacking) {
            return Err(Denied(format!(
                "granting {} would give {p}, which you do not hold",
                role.name
            )));
        }
        Ok(())
    }
}
