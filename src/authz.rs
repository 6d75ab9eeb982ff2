//! The one permission decision (DESIGN.md, permission model) behind `POST /authz/check` and
//! every admin endpoint ([`decide_for`]): the token's effective permissions (role + extra grants)
//! must cover the permission, and a B2B account's users and services act only inside their own
//! account (a client sees only its own parcels); staff act across all accounts.

use crate::model::account::AccountId;
use crate::model::permission::Permission;
use crate::oauth::token::AccessClaims;

pub use crate::model::permission::{Decision, Target, decide_for};

/// Decides whether the holder of `claims` may use `wanted` in the B2B account `target` (`None`:
/// the holder's own account, or no account in particular for staff) — `/authz/check`.
pub fn decide(claims: &AccessClaims, wanted: &Permission, target: Option<AccountId>) -> Decision {
    let own = claims.account_id.as_deref().and_then(|a| AccountId::parse(a).ok());
    if claims.account_id.is_some() && own.is_none() {
        return Decision::deny("the token's account is not a B2B account id");
    }
    let held: Vec<Permission> = claims
        .permissions
        .iter()
        .filter_map(|p| Permission::parse(p).ok())
        .collect();
    decide_for(&held, own, wanted, target.map_or(Target::Own, Target::Account))
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
            permissions_left_out: false,
            auth_time: None,
            amr: None,
            acr: None,
            family: None,
            rev: Default::default(),
            userinfo_claims: Vec::new(),
        }
    }

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn the_admin_api_and_authz_check_decide_alike() {
        let mine = AccountId::generate();
        let held = [p("users:*")];
        let admin = decide_for(&held, Some(mine), &p("users:update"), Target::Account(mine));
        assert!(admin.allowed);
        let platform = decide_for(&held, Some(mine), &p("users:update"), Target::Platform);
        assert!(!platform.allowed && platform.reason.contains("staff"), "{platform:?}");
        let staff = decide_for(&[p("roles:*")], None, &p("roles:update"), Target::Platform);
        assert!(staff.allowed);
        let other = decide_for(
            &held,
            Some(mine),
            &p("users:read"),
            Target::Account(AccountId::generate()),
        );
        assert!(!other.allowed);
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
