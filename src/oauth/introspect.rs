//! Token introspection (RFC 7662). Callers are authenticated confidential applications; one with
//! the may-introspect flag learns about any token, others only about their own. Anything the
//! caller may not know about, and anything expired, revoked, blacklisted or issued before the
//! user's not-before time, is simply `{"active": false}` (§2.2).

use serde::Serialize;

use super::error::OAuthError;
use super::provider::Provider;
use super::token::AccessClaims;
use super::{refresh, revocation};
use crate::model::application::Application;

/// The introspection response.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub token: Option<ActiveToken>,
}

/// What an active token's introspection shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ActiveToken {
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(rename = "clientId", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Absent for refresh tokens: they grant nothing themselves, and the next access token
    /// carries the role and permissions as they are then (a refresh rebuilds them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Introspection {
    pub fn inactive() -> Self {
        Self {
            active: false,
            token: None,
        }
    }

    fn active(c: AccessClaims) -> Self {
        Self {
            active: true,
            token: Some(ActiveToken {
                sub: c.sub,
                client_id: c.client_id,
                scope: c.scope,
                exp: c.exp,
                iat: c.iat,
                iss: c.iss,
                aud: c.aud,
                jti: c.jti,
                token_type: "Bearer",
                role: c.role,
                account_id: c.account_id,
                permissions: Some(c.permissions),
                sid: c.sid,
            }),
        }
    }
}

/// Introspects `token` for `caller`.
#[tracing::instrument(skip_all, fields(client.id = %caller.client_id))]
pub async fn introspect(provider: &Provider, caller: &Application, token: &str) -> Result<Introspection, OAuthError> {
    let Ok(claims) = provider.access_claims(token) else {
        return introspect_refresh(provider, caller, token).await;
    };
    if !caller.may_introspect && claims.client_id != caller.client_id.as_str() {
        return Ok(Introspection::inactive());
    }
    if revocation::is_revoked(provider.state.as_ref(), &claims).await? {
        return Ok(Introspection::inactive());
    }
    // The permissions the token left out, read now.
    let claims = super::subject::with_permissions(provider, claims).await?;
    Ok(Introspection::active(AccessClaims::clone(&claims)))
}

/// A refresh token: active while it is the live member of a live family.
async fn introspect_refresh(
    provider: &Provider,
    caller: &Application,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let Some(record) = refresh::peek(provider, token).await? else {
        return Ok(Introspection::inactive());
    };
    if !caller.may_introspect && record.client_id != caller.client_id {
        return Ok(Introspection::inactive());
    }
    let exp = record.expires_at().unix_timestamp();
    let subject = record.subject;
    Ok(Introspection {
        active: true,
        token: Some(ActiveToken {
            sub: subject.sub,
            client_id: record.client_id.to_string(),
            scope: record.scope.to_string(),
            exp,
            iat: record.issued_at,
            iss: provider.issuer.clone(),
            aud: provider.issuer.clone(),
            jti: record.family,
            token_type: "refresh_token",
            role: None,
            account_id: subject.account_id,
            permissions: None,
            sid: subject.sid,
        }),
    })
}
