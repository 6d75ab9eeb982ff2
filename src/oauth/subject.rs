//! Who an access token speaks for: a user (id, role, B2B account, effective permissions — role
//! permissions plus extra grants, DESIGN.md — and how they authenticated), or an application
//! acting as itself (`client_credentials`: its client_id, service role and owning account).
//!
//! A user's subject is always built from the rows as they are now (DESIGN.md, Token authority:
//! the subject as it is now), after the revocation generations were read: a user who is not
//! active, or whose B2B account is not, gets `invalid_grant`. What a token shows of it depends
//! on the application ([`Subject::access_token`]).

use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use super::provider::Provider;
use super::revocation::{self, Generation, Marks};
use super::token::{self, AccessClaims};
use crate::model::account::AccountStatus;
use crate::model::application::Application;
use crate::model::permission::Permission;
use crate::model::role::RoleName;
use crate::model::scope::Scope;
use crate::model::user::{User, UserId, UserStatus};

/// The identity and authorization facts an access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub sub: String,
    pub role: Option<String>,
    pub account_id: Option<String>,
    pub permissions: Vec<String>,
    pub sid: Option<String>,
    /// When the user authenticated (unix seconds); `None` for applications.
    pub auth_time: Option<i64>,
    pub amr: Vec<String>,
    /// The revocation generations the subject was read under.
    #[serde(default)]
    pub marks: Marks,
    /// The claims the authorization request's `claims` parameter asked of `/userinfo`, carried
    /// by its access tokens (and the refresh family's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo_claims: Vec<String>,
}

/// How the user authenticated, carried from the sign-in to every token of it.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub sid: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
}

/// What the sign-in behind a new token rested on, checked again after the generations are read
/// (a change that landed while the sign-in was under way must not be outlived by its tokens).
#[derive(Debug, Clone)]
pub enum Proof {
    /// A browser session begun under this sessions generation.
    Session(i64),
    /// A password checked against this hash.
    Password(Option<String>),
}

/// The user may not have tokens now.
fn not_active() -> OAuthError {
    OAuthError::invalid_grant("the user or its account may not sign in")
}

impl Subject {
    /// The subject of user `id` for `app`, read now: generations first, then the rows, and
    /// `proof` still standing (the session not ended, the password not changed since).
    pub async fn of_user(
        provider: &Provider,
        app: &Application,
        id: UserId,
        proof: Proof,
        how: Authenticated,
    ) -> Result<(Self, User), OAuthError> {
        let sub = id.to_string();
        let read = revocation::generations(
            provider.state.as_ref(),
            &[Generation::User(&sub), Generation::Sessions(&sub)],
        )
        .await?;
        let user = provider.clients.find_user(id).await?.ok_or_else(not_active)?;
        let standing = match &proof {
            Proof::Session(sessions) => read[1] <= *sessions,
            Proof::Password(hash) => user.password_hash == *hash,
        };
        if !standing {
            return Err(not_active());
        }
        let marks = Marks {
            user: read[0],
            sessions: read[1],
            app: app.generation,
            ..Marks::default()
        };
        let subject = Self::rebuild(provider, &user, marks, None, how).await?;
        Ok((subject, user))
    }

    /// The subject of `user` (read after `marks.user`, `.sessions` and `.app`), with its role's
    /// and account's current rows. `known`: the generations of the role and account when the
    /// caller read them together with the others (refresh); else they are read here.
    pub async fn rebuild(
        provider: &Provider,
        user: &User,
        mut marks: Marks,
        known: Option<(&str, i64, i64)>,
        how: Authenticated,
    ) -> Result<Self, OAuthError> {
        if user.status != UserStatus::Active {
            return Err(not_active());
        }
        let account = user.client_id.map(|a| a.to_string());
        let (role_gen, account_gen) = match known {
            Some((role, r, c)) if role == user.role.as_str() => (r, c),
            _ => {
                let mut which = vec![Generation::Role(user.role.as_str())];
                which.extend(account.as_deref().map(Generation::Account));
                let read = revocation::generations(provider.state.as_ref(), &which).await?;
                (read[0], read.get(1).copied().unwrap_or(0))
            }
        };
        if let Some(id) = user.client_id {
            let found = provider.clients.account(id, Some(account_gen)).await?;
            if !found.is_some_and(|a| a.value.status == AccountStatus::Active) {
                return Err(not_active());
            }
        }
        let (_, mut permissions) = role_permissions(provider, &user.role, Some(role_gen)).await?;
        permissions.extend(user.permissions.iter().map(ToString::to_string));
        permissions.sort();
        permissions.dedup();
        marks.role = role_gen;
        marks.account = account_gen;
        marks.role_name = None;
        Ok(Self {
            sub: user.id.to_string(),
            role: Some(user.role.to_string()),
            account_id: account,
            permissions,
            sid: how.sid,
            auth_time: Some(how.auth_time),
            amr: how.amr,
            marks,
            userinfo_claims: Vec::new(),
        })
    }

    /// The subject of an application acting as itself (RFC 6749 §4.4): its cached rows and the
    /// generations they were read under.
    pub async fn of_application(provider: &Provider, app: &Application) -> Result<Self, OAuthError> {
        let mut marks = Marks {
            app: app.generation,
            ..Marks::default()
        };
        let permissions = match &app.service_role {
            Some(role) => {
                let (generation, permissions) = role_permissions(provider, role, None).await?;
                marks.role = generation;
                permissions
            }
            None => Vec::new(),
        };
        if let Some(id) = app.account_id {
            let found = provider.clients.account(id, None).await?;
            match found {
                Some(account) if account.value.status == AccountStatus::Active => marks.account = account.generation,
                _ => {
                    return Err(OAuthError::new(
                        super::error::ErrorCode::UnauthorizedClient,
                        "the application's B2B account is not active",
                    ));
                }
            }
        }
        Ok(Self {
            sub: app.client_id.to_string(),
            role: app.service_role.as_ref().map(ToString::to_string),
            account_id: app.account_id.map(|a| a.to_string()),
            permissions,
            sid: None,
            auth_time: None,
            amr: Vec::new(),
            marks,
            userinfo_claims: Vec::new(),
        })
    }

    /// What a token of `app` for `scope` may show of this subject (DESIGN.md, Token authority):
    /// first-party applications and services get the role and every effective permission; a
    /// third-party application gets no role, and only the permissions its granted scope names
    /// that the user holds, wildcards expanded to concrete actions.
    fn shown(&self, app: &Application, scope: &Scope) -> (Option<String>, Vec<String>) {
        if app.first_party || self.auth_time.is_none() {
            return (self.role.clone(), self.permissions.clone());
        }
        (None, granted(&self.permissions, scope))
    }

    /// Mints an access token for this subject, issued to `app`, for `scope` and the audience
    /// `aud`; `family` names the refresh-token family it descends from, so revoking the family
    /// revokes it too.
    pub fn access_token(
        &self,
        provider: &Provider,
        app: &Application,
        scope: &Scope,
        aud: &str,
        family: Option<&str>,
    ) -> Result<(String, AccessClaims), OAuthError> {
        let now = provider.clock.now();
        let ttl = app.access_token_ttl.unwrap_or(provider.access_token_ttl);
        let (role, mut permissions) = self.shown(app, scope);
        let permissions_left_out = !app.token_permissions;
        if permissions_left_out {
            permissions.clear();
        }
        let mut rev = self.marks.clone();
        rev.sessions = 0;
        if role.is_none() {
            rev.role_name.clone_from(&self.role);
        }
        let claims = AccessClaims {
            iss: provider.issuer.clone(),
            sub: self.sub.clone(),
            aud: aud.to_owned(),
            exp: (now + ttl).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: token::new_jti(),
            client_id: app.client_id.to_string(),
            scope: scope.to_string(),
            sid: self.sid.clone(),
            role,
            account_id: self.account_id.clone(),
            permissions,
            permissions_left_out,
            auth_time: self.auth_time,
            amr: (!self.amr.is_empty()).then(|| self.amr.clone()),
            acr: self.auth_time.map(|_| super::acr::of(&self.amr).to_owned()),
            family: family.map(str::to_owned),
            rev,
            userinfo_claims: self.userinfo_claims.clone(),
        };
        let jwt = token::mint(&provider.keyring(), &claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            OAuthError::server_error()
        })?;
        Ok((jwt, claims))
    }
}

/// What a third-party application's token may show of `held`: the permissions its granted scope
/// names that the user holds, wildcards expanded to concrete actions.
fn granted(held: &[String], scope: &Scope) -> Vec<String> {
    let held: Vec<Permission> = held.iter().filter_map(|p| Permission::parse(p).ok()).collect();
    let mut granted: Vec<String> = scope
        .iter()
        .filter_map(|s| Permission::parse(s).ok())
        .flat_map(|p| p.grantable(&held))
        .map(|p| p.to_string())
        .collect();
    granted.sort();
    granted.dedup();
    granted
}

/// The claims of an active token as a service reads them: when the token left `permissions` out
/// (its application's `token_permissions` was off), they are read from the role and the user —
/// the copies cached under generations at least the token's, which the revocation check has just
/// found current — and shown as the token would have shown them: all of them when it was minted
/// with a `role` (first-party and services), else the granted scope's share (third party).
/// Everything is decided from the token itself, never from the application as it is now.
pub async fn with_permissions(
    provider: &Provider,
    claims: std::sync::Arc<AccessClaims>,
) -> Result<std::sync::Arc<AccessClaims>, OAuthError> {
    if !claims.permissions_left_out {
        return Ok(claims);
    }
    // The role the token was minted under: its claim, or for a third party the private name.
    let Some(role) = claims.role.as_deref().or(claims.rev.role_name.as_deref()) else {
        return Ok(claims);
    };
    let Ok(role) = RoleName::parse(role) else {
        return Ok(claims);
    };
    let mut held = if claims.is_service() {
        Vec::new()
    } else {
        let Ok(id) = UserId::parse(&claims.sub) else {
            return Ok(claims);
        };
        match provider.clients.user(id, claims.rev.user).await? {
            // A user whose role changed since is revoked; read in a race, it gets nothing here.
            Some(user) if user.value.role == role => user.value.permissions.iter().map(ToString::to_string).collect(),
            _ => return Ok(claims),
        }
    };
    held.extend(role_permissions(provider, &role, Some(claims.rev.role)).await?.1);
    held.sort();
    held.dedup();
    let permissions = if claims.role.is_some() {
        held
    } else {
        granted(&held, &Scope::parse(&claims.scope).unwrap_or_default())
    };
    let mut filled = AccessClaims::clone(&claims);
    filled.permissions = permissions;
    Ok(std::sync::Arc::new(filled))
}

fn missing_role(role: &RoleName) -> OAuthError {
    tracing::error!(role = %role, "a role named by a user or application does not exist");
    OAuthError::server_error()
}

/// The permissions of a role, as strings, and the generation of the copy they come from (at
/// least `current`); a missing role is a server-side inconsistency.
async fn role_permissions(
    provider: &Provider,
    role: &RoleName,
    current: Option<i64>,
) -> Result<(i64, Vec<String>), OAuthError> {
    let found = provider
        .clients
        .role(role, current)
        .await?
        .ok_or_else(|| missing_role(role))?;
    Ok((
        found.generation,
        found.value.permissions.iter().map(ToString::to_string).collect(),
    ))
}
