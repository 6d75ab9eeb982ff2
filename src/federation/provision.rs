//! The local user of a verified upstream identity: the linked one (its mapped attributes and
//! role brought up to date), an existing user of the provider's account linked by a trusted
//! email, or — with just-in-time provisioning — a new user of that account. A new user, its link
//! and its `user.created` event are written in one transaction: nothing is half-created.

use serde_json::json;

use super::mapping::Profile;
use crate::audit::{Action, AuditRecord, RequestContext};
use crate::model::account::AccountStatus;
use crate::model::event::UserEvent;
use crate::model::idp::{FederatedLink, IdentityProvider};
use crate::model::role::{RoleName, RoleScope};
use crate::model::user::{User, UserId, UserStatus, Username};
use crate::security::Services;
use crate::store::StoreError;

/// How the user was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Linked at an earlier sign-in.
    Linked,
    /// An existing user of the account, linked now by a trusted email.
    LinkedByEmail,
    /// Created just in time.
    Created,
}

/// Why no user may sign in.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Unknown here, and just-in-time provisioning is off or the upstream did not verify an
    /// address inside the provider's domains.
    #[error("the user is not known here and cannot be provisioned (jit off, or no verified address in the domains)")]
    NotProvisioned,
    /// The verified address belongs to a user outside the provider's account, or to a user
    /// already linked to another identity of this provider (an address given to someone new).
    #[error("the address belongs to another user: {0}")]
    AddressTaken(&'static str),
    #[error("the user is blocked")]
    Blocked,
    /// The linked user was deleted, or belongs elsewhere now.
    #[error("the linked user is gone or in another account")]
    Gone,
    /// The provider's B2B account is not active.
    #[error("the account is not active")]
    AccountInactive,
    /// The claims lack one the provider requires (another tenant of a shared issuer).
    #[error("the identity lacks a claim the provider requires")]
    NotMember,
    /// The upstream sent no `sub`.
    #[error("the identity has no subject")]
    NoSubject,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user of `profile`, linked, updated or created.
pub async fn user_for(
    provider: &Services,
    idp: &IdentityProvider,
    issuer: &str,
    profile: &Profile,
    ctx: &RequestContext,
) -> Result<(User, Found), ProvisionError> {
    if profile.subject.is_empty() || profile.subject.len() > 255 {
        return Err(ProvisionError::NoSubject);
    }
    if !profile.member {
        return Err(ProvisionError::NotMember);
    }
    match provider.db.find_account(idp.account_id).await? {
        Some(account) if account.status == AccountStatus::Active => {}
        _ => return Err(ProvisionError::AccountInactive),
    }
    // A write that clashed with a parallel one (the same person signing in twice at once, an
    // administrator creating the address's owner meanwhile) is decided again from the top, so
    // the outcome is the one the rules give for the state that won.
    match resolve(provider, idp, issuer, profile, ctx).await {
        Err(ProvisionError::Store(StoreError::Conflict { .. })) => resolve(provider, idp, issuer, profile, ctx).await,
        other => other,
    }
}

async fn resolve(
    provider: &Services,
    idp: &IdentityProvider,
    issuer: &str,
    profile: &Profile,
    ctx: &RequestContext,
) -> Result<(User, Found), ProvisionError> {
    let db = provider.db.as_ref();
    let now = provider.clock.now();
    if let Some(link) = db.find_link(idp.id, issuer, &profile.subject).await? {
        let user = signed_in(provider, idp, &link, profile, ctx).await?;
        return Ok((user, Found::Linked));
    }
    if let Some(user) = by_trusted_email(provider, idp, issuer, profile).await? {
        db.insert_link(&new_link(idp, issuer, profile, user.id, now)).await?;
        let details = json!({ "subject": profile.subject });
        audit(provider, Action::UserFederationLink, &user, idp, ctx, details).await;
        let user = update(provider, idp, user, profile, ctx).await?;
        return Ok((user, Found::LinkedByEmail));
    }
    // Only people whose address the upstream verified inside the provider's (staff-approved)
    // domains join the account by themselves: a provider that also signs in outsiders (a
    // public IdP, guests of a tenant) does not make them members.
    if !idp.jit || !profile.email_trusted {
        return Err(ProvisionError::NotProvisioned);
    }
    let user = create(provider, idp, issuer, profile, ctx).await?;
    Ok((user, Found::Created))
}

/// A sign-in through an existing link: the user, brought up to date.
async fn signed_in(
    provider: &Services,
    idp: &IdentityProvider,
    link: &FederatedLink,
    profile: &Profile,
    ctx: &RequestContext,
) -> Result<User, ProvisionError> {
    let user = linked_user(provider, idp, link.user_id).await?;
    let user = update(provider, idp, user, profile, ctx).await?;
    provider.db.touch_link(link, provider.clock.now()).await?;
    Ok(user)
}

/// The linked user, if it may still sign in through `idp`.
async fn linked_user(provider: &Services, idp: &IdentityProvider, id: UserId) -> Result<User, ProvisionError> {
    let user = provider.db.find_user(id).await?.ok_or(ProvisionError::Gone)?;
    match user.status {
        UserStatus::Deleted => return Err(ProvisionError::Gone),
        UserStatus::Blocked => return Err(ProvisionError::Blocked),
        UserStatus::Active => {}
    }
    if user.client_id != Some(idp.account_id) {
        return Err(ProvisionError::Gone);
    }
    Ok(user)
}

/// The user to link by the address the upstream verified inside the provider's domains: an
/// active user of the provider's account not linked to another identity of this provider.
/// Anyone else holding the address refuses the sign-in (never a second user beside them).
async fn by_trusted_email(
    provider: &Services,
    idp: &IdentityProvider,
    issuer: &str,
    profile: &Profile,
) -> Result<Option<User>, ProvisionError> {
    let Some(email) = profile.email.as_ref().filter(|_| profile.email_trusted) else {
        return Ok(None);
    };
    let Some(user) = provider.db.find_user_by_login(email.as_str()).await? else {
        return Ok(None);
    };
    if user.client_id != Some(idp.account_id) {
        return Err(ProvisionError::AddressTaken("a user outside the account has it"));
    }
    if user.status == UserStatus::Blocked {
        return Err(ProvisionError::Blocked);
    }
    if provider
        .db
        .links_of(user.id)
        .await?
        .iter()
        .any(|l| l.idp_id == idp.id && l.issuer == issuer)
    {
        return Err(ProvisionError::AddressTaken(
            "its user is linked to another identity of this provider",
        ));
    }
    Ok(Some(user))
}

fn new_link(
    idp: &IdentityProvider,
    issuer: &str,
    profile: &Profile,
    user: UserId,
    now: time::OffsetDateTime,
) -> FederatedLink {
    FederatedLink {
        issuer: issuer.to_owned(),
        subject: profile.subject.clone(),
        user_id: user,
        idp_id: idp.id,
        created_at: now,
        last_login_at: Some(now),
    }
}

/// The role the mapping gives: the first matching rule's, else the provider's default, else
/// `client_user`; only account-scoped roles that exist.
async fn mapped_role(provider: &Services, idp: &IdentityProvider, profile: &Profile) -> Result<RoleName, StoreError> {
    let candidates = profile
        .rule_role
        .iter()
        .filter_map(|r| RoleName::parse(r).ok())
        .chain(idp.default_role.clone());
    for name in candidates {
        match provider.db.find_role(&name).await? {
            Some(role) if role.scope == RoleScope::Account => return Ok(name),
            _ => tracing::warn!(idp = %idp.id, role = %name, "a mapped role is missing or not account-scoped"),
        }
    }
    RoleName::parse(RoleName::CLIENT_USER).map_err(|e| StoreError::Corrupt(e.0))
}

/// True when `email` may be set on `user` (no other user has it).
async fn email_free(provider: &Services, email: &str, user: Option<UserId>) -> Result<bool, StoreError> {
    Ok(provider
        .db
        .find_user_by_login(email)
        .await?
        .is_none_or(|other| Some(other.id) == user))
}

/// A free username: the mapped one, else the email's local part, else one derived from the
/// upstream subject.
async fn username_for(provider: &Services, idp: &IdentityProvider, profile: &Profile) -> Result<Username, StoreError> {
    let from_email = profile
        .email
        .as_ref()
        .and_then(|e| Username::parse(e.as_str().split('@').next().unwrap_or_default()).ok());
    for candidate in profile.username.iter().chain(from_email.iter()) {
        if provider.db.find_user_by_login(candidate.as_str()).await?.is_none() {
            return Ok(candidate.clone());
        }
    }
    derived_username(idp, profile)
}

/// `sso-` and twelve hex digits of the provider and subject.
fn derived_username(idp: &IdentityProvider, profile: &Profile) -> Result<Username, StoreError> {
    Username::parse(&format!(
        "sso-{}",
        &hex_digest(&format!("{}|{}", idp.id, profile.subject))[..12]
    ))
    .map_err(|e| StoreError::Corrupt(e.0))
}

fn hex_digest(s: &str) -> String {
    crate::crypto::sha256(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates the user, its link and `user.created` in one transaction, with the trusted address
/// (no one holds it: [`by_trusted_email`] found no one).
async fn create(
    provider: &Services,
    idp: &IdentityProvider,
    issuer: &str,
    profile: &Profile,
    ctx: &RequestContext,
) -> Result<User, ProvisionError> {
    let now = provider.clock.now();
    let email = profile.email.clone().filter(|_| profile.email_trusted);
    let username = username_for(provider, idp, profile).await?;
    let user = User {
        id: UserId::generate(),
        username,
        password_hash: None,
        email_verified: email.is_some(),
        email,
        phone_verified: profile.phone_verified,
        phone: profile.phone.clone(),
        role: mapped_role(provider, idp, profile).await?,
        permissions: Vec::new(),
        status: UserStatus::Active,
        client_id: Some(idp.account_id),
        name: profile.name.clone(),
        not_before: None,
        created_at: now,
        updated_at: now,
        profile: Default::default(),
    };
    let link = new_link(idp, issuer, profile, user.id, now);
    let event = UserEvent::created(&provider.issuer, &user);
    provider.db.insert_federated_user(&user, &link, &[event]).await?;
    audit(
        provider,
        Action::UserCreate,
        &user,
        idp,
        ctx,
        json!({ "role": user.role, "subject": profile.subject }),
    )
    .await;
    Ok(user)
}

/// Brings the mapped attributes up to date: name, phone, email (when no one else has it), and
/// the role when the provider has rules (a user who left every mapped group falls back to the
/// default role). The username never changes.
async fn update(
    provider: &Services,
    idp: &IdentityProvider,
    mut user: User,
    profile: &Profile,
    ctx: &RequestContext,
) -> Result<User, StoreError> {
    let now = provider.clock.now();
    let mut changed = Vec::new();
    if profile.name.is_some() && user.name != profile.name {
        user.name.clone_from(&profile.name);
        changed.push("name");
    }
    if let Some(phone) = &profile.phone
        && (user.phone.as_ref() != Some(phone) || user.phone_verified != profile.phone_verified)
    {
        user.phone = Some(phone.clone());
        user.phone_verified = profile.phone_verified;
        changed.push("phone");
    }
    if let Some(email) = profile.email.as_ref().filter(|_| profile.email_trusted) {
        let same = user
            .email
            .as_ref()
            .is_some_and(|e| e.as_str().eq_ignore_ascii_case(email.as_str()));
        if (!same || !user.email_verified) && email_free(provider, email.as_str(), Some(user.id)).await? {
            user.email = Some(email.clone());
            user.email_verified = true;
            changed.push("email");
        }
    }
    let old_role = user.role.clone();
    if !idp.role_rules.is_empty() {
        user.role = mapped_role(provider, idp, profile).await?;
    }
    let mut events = Vec::new();
    if !changed.is_empty() {
        events.push(UserEvent::updated(&provider.issuer, &user, &changed, now));
    }
    if user.role != old_role {
        events.push(UserEvent::role_changed(&provider.issuer, &user, old_role.as_str(), now));
    }
    if events.is_empty() {
        return Ok(user);
    }
    let read_at = std::mem::replace(&mut user.updated_at, now);
    // Access tokens that carry the old role end now, as with an administrator's role change
    // (see `revocation::around`).
    let sub = user.id.to_string();
    let ends = if user.role != old_role {
        user.not_before = Some(now);
        crate::oauth::revocation::Ends::Tokens.of(&sub)
    } else {
        Vec::new()
    };
    let write = provider.db.update_user(&user, read_at, &events);
    crate::oauth::revocation::around(provider.state.as_ref(), &ends, now, write).await?;
    if !changed.is_empty() {
        audit(
            provider,
            Action::UserUpdate,
            &user,
            idp,
            ctx,
            json!({ "changed": changed }),
        )
        .await;
    }
    if user.role != old_role {
        let details = json!({ "old_role": old_role, "new_role": user.role });
        audit(provider, Action::UserRoleChange, &user, idp, ctx, details).await;
    }
    Ok(user)
}

/// An audit record of a change the provider's mapping made.
async fn audit(
    provider: &Services,
    action: Action,
    user: &User,
    idp: &IdentityProvider,
    ctx: &RequestContext,
    mut details: serde_json::Value,
) {
    if let serde_json::Value::Object(map) = &mut details {
        map.insert("idp".into(), json!(idp.id));
    }
    let mut record = AuditRecord::change(
        provider.clock.now(),
        action,
        "user",
        &user.id.to_string(),
        user.client_id,
        details,
    );
    record.actor_id = Some(format!("federation:{}", idp.id));
    record.ip.clone_from(&ctx.ip);
    record.user_agent.clone_from(&ctx.user_agent);
    provider.audit.record_or_log(record).await;
}
