//! Corporate SSO: Propusk as an OpenID Connect relying party of each B2B account's own identity
//! provider. A browser is sent upstream ([`flow::start`]) — chosen on the login page or by the
//! domain of the email typed there — and comes back to `/federation/callback`
//! ([`flow::finish`]); the verified claims are mapped ([`mapping`]) onto a local user of that
//! account ([`provision`]), who then signs in like any other: the account's 2FA policy, a fresh
//! session, Propusk's own tokens with `role` and `clientId`.

pub mod flow;
pub mod mapping;
pub mod provision;

use crate::model::idp::IdentityProvider;
use crate::security::Services;
use crate::store::StoreError;

/// The enabled provider whose domains cover the domain of `email` (home-realm discovery).
pub fn for_email<'a>(idps: &'a [IdentityProvider], email: &str) -> Option<&'a IdentityProvider> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    if domain.is_empty() || domain.len() > 253 {
        return None;
    }
    idps.iter().find(|idp| idp.enabled && idp.covers_domain(domain))
}

/// The enabled provider a person typed on the login page: for a work email, the one whose
/// domains cover it; otherwise the first of the account whose id (slug) it is.
pub async fn provider_for(provider: &Services, typed: &str) -> Result<Option<IdentityProvider>, StoreError> {
    let db = provider.db.as_ref();
    if typed.contains('@') {
        return Ok(for_email(&db.list_idps(None).await?, typed).cloned());
    }
    let Ok(slug) = crate::model::account::Slug::parse(typed) else {
        return Ok(None);
    };
    let Some(account) = db.find_account_by_slug(&slug).await? else {
        return Ok(None);
    };
    Ok(db
        .list_idps(Some(account.id))
        .await?
        .into_iter()
        .find(|idp| idp.enabled))
}
