//! Identity providers of B2B accounts (`/admin/v1/clients/{id}/identity-providers`). Each route
//! needs `identity_providers:*` on the account (staff have it through `*:*`; an account's own
//! administrators through a custom account role). Email domains decide where people are sent,
//! so only staff may set them, and no two accounts may claim overlapping domains.

use serde::Deserialize;
use uuid::Uuid;

use super::AdminError;
use super::principal::Principal;
use super::services::IdpAdmin;
use crate::audit::{Action, Outcome};
use crate::crypto::sealed;
use crate::model::account::{Account, AccountId};
use crate::model::idp::{self, ClaimMap, IdentityProvider, RoleRule};
use crate::model::role::{RoleName, RoleScope};

/// A provider as typed; on update, absent fields stay. `client_secret` is write-only.
// No `Debug`: it holds the secret.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpInput {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// Which upstream claims fill which local fields.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<ClaimMap>,
    pub domains: Option<Vec<String>>,
    pub jit: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub default_role: Option<Option<String>>,
    /// `{claim, value, role}` rules giving a role from an upstream claim.
    #[schema(value_type = Option<Vec<Object>>)]
    pub role_rules: Option<Vec<RoleRule>>,
    /// `{claim, value}` pairs every sign-in must carry.
    #[schema(value_type = Option<Vec<Object>>)]
    pub required_claims: Option<Vec<idp::ClaimValue>>,
    pub sso_required: Option<bool>,
    pub accept_upstream_mfa: Option<bool>,
    pub enabled: Option<bool>,
}

fn invalid(field: &'static str, e: impl std::fmt::Display) -> AdminError {
    AdminError::Invalid {
        field,
        message: e.to_string(),
    }
}

impl IdpAdmin<'_> {
    /// The account, if the principal may use `identity_providers:{action}` on it.
    async fn idp_account(&self, who: &Principal, account: &str, action: Action) -> Result<Account, AdminError> {
        let account = self.accounts().account(who, account).await?;
        // idp.read → identity_providers:read, and so on.
        let wanted = format!("identity_providers:{}", action.as_str().trim_start_matches("idp."));
        if let Err(denied) = who.check(&wanted, Some(account.id)) {
            return Err(self
                .refuse_change(
                    who,
                    action,
                    ("client", &account.id.to_string()),
                    Some(account.id),
                    denied,
                )
                .await);
        }
        Ok(account)
    }

    pub async fn list(&self, who: &Principal, account: &str) -> Result<Vec<IdentityProvider>, AdminError> {
        let account = self.idp_account(who, account, Action::IdpRead).await?;
        Ok(self.db.list_idps(Some(account.id)).await?)
    }

    pub async fn idp(&self, who: &Principal, account: &str, id: &str) -> Result<IdentityProvider, AdminError> {
        let account = self.idp_account(who, account, Action::IdpRead).await?;
        self.find_idp(&account, id).await
    }

    async fn find_idp(&self, account: &Account, id: &str) -> Result<IdentityProvider, AdminError> {
        let missing = || AdminError::NotFound(format!("no identity provider {id:?}"));
        let uuid = Uuid::parse_str(id).map_err(|_| missing())?;
        self.db
            .find_idp(uuid)
            .await?
            .filter(|i| i.account_id == account.id)
            .ok_or_else(missing)
    }

    pub async fn create_idp(
        &self,
        who: &Principal,
        account: &str,
        seal_key: &[u8; 32],
        input: IdpInput,
    ) -> Result<IdentityProvider, AdminError> {
        let (provider, changed) = self.prepare_idp(who, account, seal_key, input).await?;
        self.db.insert_idp(&provider).await?;
        self.idp_record(who, Action::IdpCreate, &provider, &changed).await;
        if provider.sso_required && provider.enabled {
            self.end_password_sessions(who, &provider).await?;
        }
        Ok(provider)
    }

    /// Once single sign-on is required, what the account's users got with a password ends:
    /// every user with a password signs in again (through the provider). Audited with the count.
    pub async fn end_password_sessions(&self, who: &Principal, provider: &IdentityProvider) -> Result<(), AdminError> {
        let now = self.clock.now();
        let mut filter = crate::store::UserFilter {
            account: Some(provider.account_id),
            ..Default::default()
        };
        let mut ended = 0u64;
        loop {
            let page = self.db.list_users(&filter, 500).await?;
            for user in page.iter().filter(|u| u.password_hash.is_some()) {
                let sub = user.id.to_string();
                crate::oauth::revocation::end_user(self.state, &sub, crate::oauth::revocation::Ends::Everything, now)
                    .await?;
                ended += 1;
            }
            match page.last() {
                Some(last) if page.len() == 500 => filter.after = Some(last.id),
                _ => break,
            }
        }
        let target = ("identity_provider", provider.id.to_string());
        let details = serde_json::json!({ "users": ended });
        self.record_change(
            who,
            Action::IdpPasswordSessionsEnd,
            (target.0, &target.1),
            Some(provider.account_id),
            Outcome::Success,
            details,
        )
        .await;
        Ok(())
    }

    /// A new provider checked and ready to insert (nothing written).
    pub async fn prepare_idp(
        &self,
        who: &Principal,
        account: &str,
        seal_key: &[u8; 32],
        input: IdpInput,
    ) -> Result<(IdentityProvider, Vec<&'static str>), AdminError> {
        let account = self.idp_account(who, account, Action::IdpCreate).await?;
        let now = self.clock.now();
        let issuer = input
            .issuer
            .as_deref()
            .ok_or_else(|| invalid("issuer", "is required"))?;
        let client_id = input
            .client_id
            .as_deref()
            .ok_or_else(|| invalid("client_id", "is required"))?;
        let mut provider = IdentityProvider::new(
            account.id,
            idp::parse_issuer(issuer).map_err(|e| invalid("issuer", e))?,
            client_id.to_owned(),
            now,
        );
        let changed = self
            .apply_idp_audited(who, &mut provider, seal_key, input, Action::IdpCreate)
            .await?;
        Ok((provider, changed))
    }

    pub async fn update_idp(
        &self,
        who: &Principal,
        account: &str,
        id: &str,
        seal_key: &[u8; 32],
        input: IdpInput,
    ) -> Result<IdentityProvider, AdminError> {
        let account = self.idp_account(who, account, Action::IdpUpdate).await?;
        let mut provider = self.find_idp(&account, id).await?;
        let was_required = provider.sso_required && provider.enabled;
        let changed = self
            .apply_idp_audited(who, &mut provider, seal_key, input, Action::IdpUpdate)
            .await?;
        provider.updated_at = self.clock.now();
        self.db.update_idp(&provider).await?;
        self.idp_record(who, Action::IdpUpdate, &provider, &changed).await;
        if !was_required && provider.sso_required && provider.enabled {
            self.end_password_sessions(who, &provider).await?;
        }
        Ok(provider)
    }

    pub async fn delete_idp(&self, who: &Principal, account: &str, id: &str) -> Result<(), AdminError> {
        let account = self.idp_account(who, account, Action::IdpDelete).await?;
        let provider = self.find_idp(&account, id).await?;
        self.db.delete_idp(provider.id).await?;
        self.idp_record(who, Action::IdpDelete, &provider, &[]).await;
        Ok(())
    }

    async fn idp_record(&self, who: &Principal, action: Action, provider: &IdentityProvider, changed: &[&str]) {
        let details = serde_json::json!({
            "issuer": provider.issuer.as_str(),
            "changed": changed,
            "domains": provider.domains,
        });
        let target = ("identity_provider", provider.id.to_string());
        self.record_change(
            who,
            action,
            (target.0, &target.1),
            Some(provider.account_id),
            Outcome::Success,
            details,
        )
        .await;
    }

    /// [`Self::apply_idp`], putting a refused escalation (domains by a non-staff caller) on the
    /// audit trail.
    async fn apply_idp_audited(
        &self,
        who: &Principal,
        p: &mut IdentityProvider,
        seal_key: &[u8; 32],
        input: IdpInput,
        action: Action,
    ) -> Result<Vec<&'static str>, AdminError> {
        match self.apply_idp(who, p, seal_key, input).await {
            Err(AdminError::Forbidden(reason)) => {
                let target = ("identity_provider", p.id.to_string());
                let denied = super::principal::Denied(reason);
                Err(self
                    .refuse_change(who, action, (target.0, &target.1), Some(p.account_id), denied)
                    .await)
            }
            other => other,
        }
    }

    /// Checks and applies `input`; returns the names of the fields given. Nothing is written.
    async fn apply_idp(
        &self,
        who: &Principal,
        p: &mut IdentityProvider,
        seal_key: &[u8; 32],
        mut input: IdpInput,
    ) -> Result<Vec<&'static str>, AdminError> {
        let mut changed = Vec::new();
        apply_upstream(who, p, seal_key, &mut input, &mut changed)?;
        self.apply_domains(who, p, input.domains.take(), &mut changed).await?;
        self.apply_roles(who, p, &mut input, &mut changed).await?;
        apply_trust(who, p, &mut input, &mut changed)?;
        if p.jit && p.default_role.is_none() && p.role_rules.is_empty() {
            return Err(invalid(
                "default_role",
                "just-in-time provisioning needs a default role or role rules",
            ));
        }
        Ok(changed)
    }

    /// The email domains that route sign-ins to the provider: staff only, and never overlapping
    /// another account's.
    async fn apply_domains(
        &self,
        who: &Principal,
        p: &mut IdentityProvider,
        domains: Option<Vec<String>>,
        changed: &mut Vec<&'static str>,
    ) -> Result<(), AdminError> {
        if let Some(domains) = domains {
            if who.account.is_some() {
                return Err(AdminError::Forbidden(
                    "only staff may set email domains: they decide where people sign in".into(),
                ));
            }
            let mut parsed = Vec::new();
            for d in &domains {
                parsed.push(idp::parse_domain(d).map_err(|e| invalid("domains", e))?);
            }
            parsed.sort();
            parsed.dedup();
            for other in self.db.list_idps(None).await? {
                if other.account_id == p.account_id {
                    continue;
                }
                if let Some((mine, theirs)) = parsed.iter().find_map(|d| {
                    other
                        .domains
                        .iter()
                        .find(|o| idp::domains_overlap(d, o))
                        .map(|o| (d, o))
                }) {
                    return Err(AdminError::Conflict(format!(
                        "domain {mine} overlaps {theirs}, which another B2B account uses"
                    )));
                }
            }
            p.domains = parsed;
            changed.push("domains");
        }
        Ok(())
    }

    /// Just-in-time provisioning and the roles it maps to (account roles the caller may grant).
    async fn apply_roles(
        &self,
        who: &Principal,
        p: &mut IdentityProvider,
        input: &mut IdpInput,
        changed: &mut Vec<&'static str>,
    ) -> Result<(), AdminError> {
        if let Some(jit) = input.jit.take() {
            p.jit = jit;
            changed.push("jit");
        }
        if let Some(role) = input.default_role.take() {
            p.default_role = match role {
                Some(name) => Some(self.account_role(who, p.account_id, &name, "default_role").await?),
                None => None,
            };
            changed.push("default_role");
        }
        if let Some(rules) = input.role_rules.take() {
            for rule in &rules {
                if rule.claim.is_empty() || rule.value.is_empty() {
                    return Err(invalid("role_rules", "each rule needs a claim and a value"));
                }
                self.account_role(who, p.account_id, &rule.role, "role_rules").await?;
            }
            p.role_rules = rules;
            changed.push("role_rules");
        }
        Ok(())
    }

    /// An existing account-scoped role (users of a B2B account can hold only those) that the
    /// principal could grant itself: an account's admin cannot hand out, through the mapping,
    /// permissions it does not hold.
    async fn account_role(
        &self,
        who: &Principal,
        account: AccountId,
        name: &str,
        field: &'static str,
    ) -> Result<RoleName, AdminError> {
        let role = RoleName::parse(name).map_err(|e| invalid(field, e))?;
        match self.db.find_role(&role).await? {
            Some(r) if r.scope == RoleScope::Account => {
                who.check_grant(&r, Some(account))
                    .map_err(|d| AdminError::Forbidden(d.0))?;
                Ok(role)
            }
            Some(_) => Err(invalid(field, format!("{name} is a staff role"))),
            None => Err(invalid(field, format!("there is no role {name}"))),
        }
    }
}

/// Where the upstream is and how Propusk signs in there: issuer (moving it drops the trust staff
/// approved for the old one), client id and sealed secret, scopes, claim names.
fn apply_upstream(
    who: &Principal,
    p: &mut IdentityProvider,
    seal_key: &[u8; 32],
    input: &mut IdpInput,
    changed: &mut Vec<&'static str>,
) -> Result<(), AdminError> {
    if let Some(issuer) = input.issuer.take() {
        let parsed = idp::parse_issuer(&issuer).map_err(|e| invalid("issuer", e))?;
        if parsed != p.issuer && who.account.is_some() {
            // Staff approved the domains and the acceptance of upstream second factors for
            // the old issuer: that trust (routing, linking by email, just-in-time users,
            // 2FA) does not move with it.
            if !p.domains.is_empty() {
                p.domains.clear();
                changed.push("domains");
            }
            if p.accept_upstream_mfa {
                p.accept_upstream_mfa = false;
                changed.push("accept_upstream_mfa");
            }
        }
        p.issuer = parsed;
        changed.push("issuer");
    }
    if let Some(client_id) = input.client_id.take() {
        if client_id.trim().is_empty() || client_id.len() > 255 {
            return Err(invalid("client_id", "must be 1-255 characters"));
        }
        p.client_id = client_id;
        changed.push("client_id");
    }
    if let Some(secret) = input.client_secret.take() {
        p.client_secret_enc = if secret.is_empty() {
            None
        } else {
            let context = IdentityProvider::seal_context(p.id);
            Some(
                sealed::seal(seal_key, &context, secret.as_bytes())
                    .map_err(|e| AdminError::Store(crate::store::StoreError::Corrupt(e.to_string())))?,
            )
        };
        changed.push("client_secret");
    }
    if let Some(scopes) = input.scopes.take() {
        p.scopes = idp::parse_scopes(&scopes).map_err(|e| invalid("scopes", e))?;
        changed.push("scopes");
    }
    if let Some(claims) = input.claims.take() {
        let names = [&claims.username, &claims.email, &claims.phone, &claims.name];
        if names.iter().any(|c| c.is_empty() || c.len() > 128) {
            return Err(invalid("claims", "claim names must be 1-128 characters"));
        }
        p.claims = claims;
        changed.push("claims");
    }
    Ok(())
}

/// What the provider is trusted with: SSO required, required claims and upstream second factors
/// (the last two staff only, the second factors only turned off by an account's admin), enabled.
fn apply_trust(
    who: &Principal,
    p: &mut IdentityProvider,
    input: &mut IdpInput,
    changed: &mut Vec<&'static str>,
) -> Result<(), AdminError> {
    if let Some(v) = input.sso_required.take() {
        p.sso_required = v;
        changed.push("sso_required");
    }
    if let Some(claims) = input.required_claims.take() {
        if who.account.is_some() {
            return Err(AdminError::Forbidden(
                "only staff may set the required claims: they decide who belongs to the account".into(),
            ));
        }
        if claims
            .iter()
            .any(|c| c.claim.is_empty() || c.claim.len() > 128 || c.value.is_empty() || c.value.len() > 256)
        {
            return Err(invalid(
                "required_claims",
                "each needs a claim (1-128) and a value (1-256)",
            ));
        }
        p.required_claims = claims;
        changed.push("required_claims");
    }
    if let Some(v) = input.accept_upstream_mfa.take() {
        // An account's admin may turn it off (stricter), not on.
        if who.account.is_some() && v && !p.accept_upstream_mfa {
            return Err(AdminError::Forbidden(
                "only staff may accept the identity provider's second factors in place of the account's 2FA policy"
                    .into(),
            ));
        }
        p.accept_upstream_mfa = v;
        changed.push("accept_upstream_mfa");
    }
    if let Some(v) = input.enabled.take() {
        p.enabled = v;
        changed.push("enabled");
    }
    Ok(())
}
