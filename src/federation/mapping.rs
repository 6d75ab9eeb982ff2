//! From an upstream's verified claims to a Propusk user's attributes and role. Pure functions:
//! no store, no network.

use serde_json::{Map, Value};

use crate::model::idp::{IdentityProvider, RoleRule};
use crate::model::user::{Email, Phone, Username};

/// What the upstream says about the user, after mapping and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The upstream `sub`.
    pub subject: String,
    pub username: Option<Username>,
    pub email: Option<Email>,
    /// The upstream verified the address *and* it lies in one of the provider's domains: only
    /// then does Propusk call it verified, link an existing user by it, or route by it.
    pub email_trusted: bool,
    pub phone: Option<Phone>,
    pub phone_verified: bool,
    pub name: Option<String>,
    /// The role of the first matching rule.
    pub rule_role: Option<String>,
    /// The upstream's `amr` and `acr`.
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// The claims carry every claim the provider requires (see [`member`]).
    pub member: bool,
}

/// A claim by name; a dotted name that is not a claim itself walks nested objects
/// (`realm_access.roles`).
pub fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claim(claims, name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `true`, or the string `"true"` some providers send.
fn truthy(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true))) || value.and_then(Value::as_str) == Some("true")
}

/// True when claim `name` is (or, for an array, contains) `value`.
pub fn claim_is(claims: &Map<String, Value>, name: &str, value: &str) -> bool {
    match claim(claims, name) {
        Some(Value::String(s)) => s == value,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(value)),
        Some(Value::Bool(b)) => b.to_string() == value,
        Some(Value::Number(n)) => n.to_string() == value,
        _ => false,
    }
}

/// The role of the first rule whose claim is (or, for an array, contains) its value.
pub fn rule_role<'a>(rules: &'a [RoleRule], claims: &Map<String, Value>) -> Option<&'a str> {
    rules
        .iter()
        .find(|rule| claim_is(claims, &rule.claim, &rule.value))
        .map(|rule| rule.role.as_str())
}

/// True when the claims carry every claim the provider requires (its tenant at a shared issuer).
pub fn member(idp: &IdentityProvider, claims: &Map<String, Value>) -> bool {
    idp.required_claims.iter().all(|c| claim_is(claims, &c.claim, &c.value))
}

/// The provider's mapping applied to verified `claims`.
pub fn profile(idp: &IdentityProvider, claims: &Map<String, Value>) -> Profile {
    let map = &idp.claims;
    let email = text(claims, &map.email).and_then(|e| Email::parse(e).ok());
    // `email_verified` vouches for the `email` claim alone: an address mapped from another claim
    // (`upn`, `preferred_username`) may be whatever the user typed upstream.
    let email_trusted = map.email == "email"
        && email
            .as_ref()
            .is_some_and(|e| truthy(claims.get("email_verified")) && idp.covers_domain(e.domain()));
    let phone = text(claims, &map.phone).and_then(|p| Phone::parse(p).ok());
    let name = text(claims, &map.name).map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect::<String>());
    let amr = match claims.get("amr") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    Profile {
        subject: claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned(),
        username: text(claims, &map.username).and_then(|u| Username::parse(u).ok()),
        // Like `email_verified`, `phone_number_verified` speaks for its standard claim alone.
        phone_verified: phone.is_some() && map.phone == "phone_number" && truthy(claims.get("phone_number_verified")),
        phone,
        email,
        email_trusted,
        name,
        rule_role: rule_role(&idp.role_rules, claims).map(str::to_owned),
        amr,
        acr: text(claims, "acr").map(str::to_owned),
        member: member(idp, claims),
    }
}

/// `acr` values that name a multi-factor authentication (PAPE, and the common vendor ones).
const MFA_ACRS: &[&str] = &[
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor-physical",
    "urn:okta:loa:2fa:any",
    "possessionorinherence",
];

/// True when the upstream says it used several factors: `amr` has `mfa` (RFC 8176), or `acr`
/// is a known multi-factor level.
pub fn upstream_mfa(profile: &Profile) -> bool {
    profile.amr.iter().any(|m| m == "mfa") || profile.acr.as_deref().is_some_and(|acr| MFA_ACRS.contains(&acr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn idp(rules: Vec<RoleRule>) -> IdentityProvider {
        let account = crate::model::account::AccountId::from_uuid(uuid::Uuid::nil());
        let issuer = url::Url::parse("https://login.acme.example").unwrap();
        let mut idp = IdentityProvider::new(account, issuer, "propusk".into(), time::OffsetDateTime::UNIX_EPOCH);
        idp.domains = vec!["acme.example".into()];
        idp.jit = true;
        idp.role_rules = rules;
        idp
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn emails_are_trusted_only_when_verified_and_in_the_domains() {
        let idp = idp(vec![]);
        let trusted = |c: Value| profile(&idp, &claims(c)).email_trusted;
        assert!(trusted(
            json!({"sub": "1", "email": "ann@eu.acme.example", "email_verified": true})
        ));
        assert!(trusted(
            json!({"sub": "1", "email": "ann@acme.example", "email_verified": "true"})
        ));
        assert!(!trusted(json!({"sub": "1", "email": "ann@acme.example"})));
        assert!(!trusted(
            json!({"sub": "1", "email": "ann@acme.example", "email_verified": false})
        ));
        assert!(!trusted(
            json!({"sub": "1", "email": "ann@notacme.example", "email_verified": true})
        ));
        let mut upn = idp.clone();
        upn.claims.email = "upn".into();
        let from_upn = claims(json!({"sub": "1", "upn": "ann@acme.example", "email_verified": true}));
        assert!(
            !profile(&upn, &from_upn).email_trusted,
            "email_verified speaks for `email` only"
        );
    }

    #[test]
    fn role_rules_match_strings_arrays_and_nested_claims_first_rule_first() {
        let rule = |claim: &str, value: &str, role: &str| RoleRule {
            claim: claim.into(),
            value: value.into(),
            role: role.into(),
        };
        let rules = vec![
            rule("groups", "propusk-admins", "client_admin"),
            rule("realm_access.roles", "dispatch", "dispatcher"),
            rule("department", "logistics", "client_user"),
        ];
        let role = |c: Value| rule_role(&rules, &claims(c)).map(str::to_owned);
        assert_eq!(
            role(json!({"groups": ["staff", "propusk-admins"], "department": "logistics"})).as_deref(),
            Some("client_admin")
        );
        assert_eq!(
            role(json!({"realm_access": {"roles": ["dispatch"]}})).as_deref(),
            Some("dispatcher")
        );
        assert_eq!(role(json!({"department": "logistics"})).as_deref(), Some("client_user"));
        assert_eq!(role(json!({"groups": "staff"})), None);
    }

    #[test]
    fn required_claims_keep_other_tenants_out() {
        let mut idp = idp(vec![]);
        assert!(profile(&idp, &claims(json!({"sub": "1"}))).member, "nothing required");
        idp.required_claims = vec![crate::model::idp::ClaimValue {
            claim: "hd".into(),
            value: "acme.example".into(),
        }];
        assert!(profile(&idp, &claims(json!({"sub": "1", "hd": "acme.example"}))).member);
        assert!(!profile(&idp, &claims(json!({"sub": "1", "hd": "evil.example"}))).member);
        assert!(!profile(&idp, &claims(json!({"sub": "1"}))).member);
    }

    #[test]
    fn attributes_are_mapped_and_bad_values_dropped() {
        let idp = idp(vec![]);
        let p = profile(
            &idp,
            &claims(json!({
                "sub": "abc", "preferred_username": "Ann.Lee", "phone_number": "+4915112345678",
                "phone_number_verified": true, "name": "Ann\u{7} Lee", "amr": ["pwd", "mfa"],
            })),
        );
        assert_eq!(p.username.unwrap().as_str(), "ann.lee");
        assert_eq!(p.phone.unwrap().as_str(), "+4915112345678");
        assert!(p.phone_verified);
        assert_eq!(p.name.as_deref(), Some("Ann Lee"));
        assert!(upstream_mfa(&profile(
            &idp,
            &claims(json!({"sub": "1", "amr": ["pwd", "mfa"]}))
        )));
        assert!(!upstream_mfa(&profile(
            &idp,
            &claims(json!({"sub": "1", "amr": ["pwd"]}))
        )));
        let bad = profile(
            &idp,
            &claims(json!({"sub": "1", "preferred_username": "a b", "phone_number": "12"})),
        );
        assert!(bad.username.is_none() && bad.phone.is_none());
    }
}
