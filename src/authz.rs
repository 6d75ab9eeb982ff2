//! The one permission decision (DESIGN.md, permission model) behind `POST /authz/check` and,
//! as it arrives, every admin endpoint: the token's effective permissions (role + extra grants)
//! must cover the permission, and a B2B account's users and services act only inside their own
//! account (a client sees only its own parcels); staff act across all accounts.

use serde::Serialize;

use crate::identity::account::AccountId;
use crate::identity::permission::Permission;
use crate::oauth::token::AccessClaims;

/// The answer to "may this token do that, there?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

impl Decision {
    fn allow(reason: impl Into<String>) -> Self {
        Self {
            allowed: true,
            reason: reason.into(),
        }
    }

    fn deny(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: reason.into(),
        }
    }
}

/// Decides whether the holder of `claims` may use `wanted` in the B2B account `target` (`None`:
/// the holder's own account, or no account in particular for staff).
pub fn decide(claims: &AccessClaims, wanted: &Permission, target: Option<AccountId>) -> Decision {
    let own = claims.account_id.as_deref();
    if let (Some(own), Some(target)) = (own, target)
        && own != target.to_string()
    {
        return Decision::deny(format!("the token belongs to account {own}, not {target}"));
    }
    let held = claims
        .permissions
        .iter()
        .filter_map(|p| Permission::parse(p).ok())
        .find(|p| p.covers(wanted));
    match (held, own) {
        (None, _) => Decision::deny(format!("no permission covers {wanted}")),
        (Some(p), Some(own)) => Decision::allow(format!("{p} within account {own}")),
        (Some(p), None) => Decision::allow(format!("{p} (staff: all accounts)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(account: Option<&str>, permissions: &[&str]) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp: 0,
            iat: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: String::new(),
            sid: None,
            role: None,
            account_id: account.map(str::to_owned),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            auth_time: None,
            amr: None,
            family: None,
            rev: Default::default(),
        }
    }

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn account_users_stay_inside_their_account_and_staff_go_anywhere() {
        let mine = AccountId::generate();
        let theirs = AccountId::generate();
        let client = claims(Some(&mine.to_string()), &["parcels:read", "parcels:create"]);
        assert!(decide(&client, &p("parcels:read"), Some(mine)).allowed);
        assert!(
            decide(&client, &p("parcels:read"), None).allowed,
            "its own account by default"
        );
        let other = decide(&client, &p("parcels:read"), Some(theirs));
        assert!(!other.allowed && other.reason.contains("not"), "{other:?}");
        assert!(!decide(&client, &p("parcels:delete"), Some(mine)).allowed);

        let operator = claims(None, &["parcels:*", "users:read"]);
        assert!(decide(&operator, &p("parcels:delete"), Some(theirs)).allowed);
        assert!(!decide(&operator, &p("users:update"), Some(theirs)).allowed);
        let admin = claims(None, &["*:*"]);
        assert!(decide(&admin, &p("invoices:create"), None).allowed);
    }
}
