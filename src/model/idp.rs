//! Upstream OpenID providers of B2B accounts (corporate SSO): where the account's staff sign in,
//! how their claims map onto a Propusk user, and which email domains lead there. The upstream
//! client secret is sealed with the master key (it must be read back to call the IdP).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::InvalidValue;
use super::account::AccountId;
use super::role::RoleName;

/// Which upstream claims fill the user's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMap {
    #[serde(default = "default_username")]
    pub username: String,
    #[serde(default = "default_email")]
    pub email: String,
    #[serde(default = "default_phone")]
    pub phone: String,
    #[serde(default = "default_name")]
    pub name: String,
}

fn default_username() -> String {
    "preferred_username".into()
}
fn default_email() -> String {
    "email".into()
}
fn default_phone() -> String {
    "phone_number".into()
}
fn default_name() -> String {
    "name".into()
}

impl Default for ClaimMap {
    fn default() -> Self {
        Self {
            username: default_username(),
            email: default_email(),
            phone: default_phone(),
            name: default_name(),
        }
    }
}

/// "When claim `claim` is (or contains) `value`, the user gets `role`"; the first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    pub claim: String,
    pub value: String,
    /// An account-scoped role's name.
    pub role: String,
}

/// "Claim `claim` is (or, for an array, contains) `value`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimValue {
    pub claim: String,
    pub value: String,
}

/// An upstream identity provider of one B2B account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    pub id: Uuid,
    pub account_id: AccountId,
    /// The issuer identifier; discovery lives under it.
    pub issuer: Url,
    /// Propusk's client id at the upstream.
    pub client_id: String,
    /// The sealed client secret (`None` for a public client with PKCE only).
    pub client_secret_enc: Option<Vec<u8>>,
    pub scopes: Vec<String>,
    pub claims: ClaimMap,
    /// Email domains (subdomains included) whose users are sent here.
    pub domains: Vec<String>,
    /// Create unknown users at their first sign-in.
    pub jit: bool,
    pub default_role: Option<RoleName>,
    pub role_rules: Vec<RoleRule>,
    /// Claims every sign-in must carry: the company's tenant at an issuer others use too
    /// (`hd` at Google, `tid` at Entra ID). Set by staff.
    pub required_claims: Vec<ClaimValue>,
    /// The account's users may not sign in with a password.
    pub sso_required: bool,
    /// The upstream's `amr`/`acr` can satisfy the account's 2FA policy.
    pub accept_upstream_mfa: bool,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl IdentityProvider {
    /// A new, enabled provider with the defaults: scopes `openid email profile`, the standard
    /// claim names, no domains, no just-in-time provisioning, no role mapping.
    pub fn new(account_id: AccountId, issuer: Url, client_id: String, now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            account_id,
            issuer,
            client_id,
            client_secret_enc: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            claims: ClaimMap::default(),
            domains: Vec::new(),
            jit: false,
            default_role: None,
            role_rules: Vec::new(),
            required_claims: Vec::new(),
            sso_required: false,
            accept_upstream_mfa: false,
            enabled: true,
            created_at: now,
            updated_at: now,
        }
    }

    /// What the admin API shows: never the secret, only whether there is one.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "account_id": self.account_id,
            "issuer": self.issuer_str(),
            "client_id": self.client_id,
            "has_client_secret": self.client_secret_enc.is_some(),
            "scopes": self.scopes,
            "claims": self.claims,
            "domains": self.domains,
            "jit": self.jit,
            "default_role": self.default_role,
            "role_rules": self.role_rules,
            "required_claims": self.required_claims,
            "sso_required": self.sso_required,
            "accept_upstream_mfa": self.accept_upstream_mfa,
            "enabled": self.enabled,
            "created_at": self.created_at.unix_timestamp(),
            "updated_at": self.updated_at.unix_timestamp(),
        })
    }

    /// The sealing context of the client secret: bound to this provider.
    pub fn seal_context(id: Uuid) -> String {
        format!("idp-secret:{id}")
    }
}

/// A link between an upstream identity — the IdP's issuer and its `sub` — and a local user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedLink {
    /// The upstream issuer identifier, exactly as its metadata and ID tokens spell it.
    pub issuer: String,
    pub subject: String,
    pub user_id: super::user::UserId,
    pub idp_id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
}

impl IdentityProvider {
    /// True when `domain` is one of the provider's email domains or lies under one.
    pub fn covers_domain(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
    }

    /// The issuer as configured, without the trailing slash a bare host gets from URL parsing.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }
}

/// An issuer URL: https, or http only on a loopback host (development and tests); no query or
/// fragment.
pub fn parse_issuer(s: &str) -> Result<Url, InvalidValue> {
    let url = Url::parse(s.trim()).map_err(|_| InvalidValue::new("must be an absolute URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let ok_scheme = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !ok_scheme {
        return Err(InvalidValue::new("must be https (http only on a loopback host)"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(InvalidValue::new("must have no query, fragment or credentials"));
    }
    Ok(url)
}

/// An email domain: lower-case DNS labels with at least one dot (`acme.example`).
pub fn parse_domain(s: &str) -> Result<String, InvalidValue> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let ok = d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(InvalidValue::new(format!("{s:?} is not a domain name")))
    }
}

/// True when one domain is the other or lies under it (`eu.acme.example` and `acme.example`).
pub fn domains_overlap(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// Scopes: OAuth scope tokens, `openid` among them.
pub fn parse_scopes(scopes: &[String]) -> Result<Vec<String>, InvalidValue> {
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if let Some(bad) = scopes.iter().find(|s| !valid(s)) {
        return Err(InvalidValue::new(format!("{bad:?} is not a scope")));
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(InvalidValue::new("must include openid"));
    }
    let mut out = scopes.to_vec();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_domains_and_scopes_are_checked() {
        assert!(parse_issuer("https://login.acme.example").is_ok());
        assert!(parse_issuer("http://127.0.0.1:9000/oidc").is_ok());
        assert!(parse_issuer("http://idp.acme.example").is_err());
        assert!(parse_issuer("https://idp.acme.example/?x=1").is_err());
        assert_eq!(parse_domain("Acme.Example.").ok().as_deref(), Some("acme.example"));
        for bad in ["acme", "-acme.example", "acme..example", "ac me.example", ""] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(domains_overlap("eu.acme.example", "acme.example"));
        assert!(domains_overlap("acme.example", "acme.example"));
        assert!(!domains_overlap("notacme.example", "acme.example"));
        assert!(parse_scopes(&["openid".into(), "email".into()]).is_ok());
        assert!(parse_scopes(&["email".into()]).is_err());
    }
}
