//! CRUD permissions: `resource:action`, action one of `create`, `read`, `update`, `delete` or
//! `*` for all four. Resources are open-ended (other services name theirs); `*:*` is everything.

use std::fmt;

use super::InvalidValue;

/// One permission, or a wildcard covering several.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    resource: String,
    action: Action,
}

/// The CRUD action of a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    All,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::All => "*",
        }
    }
}

impl Permission {
    /// Parses `parcels:read`, `users:*`, `*:*`. Resources are 1–64 characters of `a-z`, `0-9`,
    /// `_`, `-`, `.`, starting with a letter, or `*`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new(format!(
                "{s:?} is not a permission: expected resource:action with action create, read, update, delete or *"
            ))
        };
        let (resource, action) = s.trim().split_once(':').ok_or_else(invalid)?;
        let resource_ok = resource == "*"
            || ((1..=64).contains(&resource.len())
                && resource.as_bytes()[0].is_ascii_lowercase()
                && resource
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b)));
        let action = match action {
            "create" => Action::Create,
            "read" => Action::Read,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "*" => Action::All,
            _ => return Err(invalid()),
        };
        if !resource_ok {
            return Err(invalid());
        }
        Ok(Self {
            resource: resource.to_owned(),
            action,
        })
    }

    /// True when holding `self` allows `wanted` (wildcards cover what they name).
    pub fn covers(&self, wanted: &Permission) -> bool {
        (self.resource == "*" || self.resource == wanted.resource)
            && (self.action == Action::All || self.action == wanted.action)
    }

    /// What a third-party application may hold of `self` (one of its permission scopes) for a
    /// user who holds `held` (DESIGN.md, Token authority): the concrete actions the scope names,
    /// each kept only when the user holds it. A scope for every resource (`*:…`) grants
    /// nothing: a third-party application names the resources it wants.
    pub fn grantable(&self, held: &[Permission]) -> Vec<Permission> {
        if self.resource == "*" {
            return Vec::new();
        }
        let actions = match self.action {
            Action::All => vec![Action::Create, Action::Read, Action::Update, Action::Delete],
            one => vec![one],
        };
        actions
            .into_iter()
            .map(|action| Permission {
                resource: self.resource.clone(),
                action,
            })
            .filter(|p| held.iter().any(|h| h.covers(p)))
            .collect()
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn action(&self) -> Action {
        self.action
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.action.as_str())
    }
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses a list, naming the first bad entry.
pub fn parse_all<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<Permission>, InvalidValue> {
    let mut out: Vec<Permission> = items.into_iter().map(Permission::parse).collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The answer to "may this token do that, there?".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

impl Decision {
    pub fn allow(reason: impl Into<String>) -> Self {
        Self {
            allowed: true,
            reason: reason.into(),
        }
    }

    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: reason.into(),
        }
    }
}

/// Where a permission is to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Inside this B2B account.
    Account(super::account::AccountId),
    /// Inside the holder's own account (for staff: no account in particular).
    Own,
    /// On something no B2B account owns: staff users, accounts themselves, roles, applications.
    Platform,
}

/// The one permission decision: may a holder of `held`, acting for the B2B account `own`
/// (`None`: staff), use `wanted` on `target`? An account's users and services act only inside
/// their own account and never on the platform; staff act anywhere their permissions cover.
pub fn decide_for(
    held: &[Permission],
    own: Option<super::account::AccountId>,
    wanted: &Permission,
    target: Target,
) -> Decision {
    match (own, target) {
        (Some(own), Target::Account(t)) if own != t => {
            return Decision::deny(format!("the token belongs to account {own}, not {t}"));
        }
        (Some(_), Target::Platform) => {
            return Decision::deny("staff users and accounts are managed by staff");
        }
        _ => {}
    }
    match (held.iter().find(|p| p.covers(wanted)), own) {
        (None, _) => Decision::deny(format!("no permission covers {wanted}")),
        (Some(p), Some(own)) => Decision::allow(format!("{p} within account {own}")),
        (Some(p), None) => Decision::allow(format!("{p} (staff: all accounts)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_scope_grants_the_concrete_actions_the_user_holds() {
        let p = |s: &str| Permission::parse(s).unwrap();
        let names = |v: Vec<Permission>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let client_user = [p("parcels:read"), p("parcels:create")];
        assert_eq!(
            names(p("parcels:*").grantable(&client_user)),
            ["parcels:create", "parcels:read"]
        );
        assert_eq!(names(p("parcels:read").grantable(&client_user)), ["parcels:read"]);
        assert!(p("parcels:delete").grantable(&client_user).is_empty());
        assert!(p("users:read").grantable(&client_user).is_empty());
        let admin = [p("*:*")];
        assert_eq!(names(p("users:read").grantable(&admin)), ["users:read"]);
        assert!(
            p("*:*").grantable(&admin).is_empty(),
            "no resource wildcard for third parties"
        );
        assert!(p("*:read").grantable(&admin).is_empty());
    }

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn wildcards_cover_what_they_name() {
        assert!(p("parcels:*").covers(&p("parcels:read")));
        assert!(p("*:*").covers(&p("users:delete")));
        assert!(!p("parcels:read").covers(&p("parcels:update")));
        assert!(!p("parcels:*").covers(&p("users:read")));
        assert!(!p("parcels:read").covers(&p("parcels:*")));
    }

    #[test]
    fn malformed_permissions_are_refused() {
        for bad in [
            "parcels",
            "parcels:write",
            ":read",
            "Parcels:read",
            "parcels:read:x",
            "1x:read",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(p("users:*").to_string(), "users:*");
    }
}
