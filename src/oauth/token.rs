//! Access tokens (RFC 9068 JWT profile): their claims, minting and validation. Validation here
//! covers signature, type, issuer and expiry; revocation state (blacklist, not-before) is
//! checked by [`crate::oauth::revocation`].

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::jwt::{self, JwtError};
use super::revocation::Marks;
use crate::keys::Keyring;
use crate::model::application::SigningAlg;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of a Propusk access token (DESIGN.md, Tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id, or the application's client_id for `client_credentials`.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The OAuth application the token was issued to.
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The browser session the token descends from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The B2B account; absent for staff.
    #[serde(rename = "clientId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The effective permissions; left out (empty) by applications that keep their tokens small
    /// ([`crate::model::application::Application::token_permissions`]): see
    /// [`crate::oauth::subject::with_permissions`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Private claim: the permissions were left out on purpose (the application's
    /// `token_permissions` is off), so a reader must fetch them, not take "none".
    #[serde(rename = "np", default, skip_serializing_if = "std::ops::Not::not")]
    pub permissions_left_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// How strongly the user authenticated ([`crate::oauth::acr`]); absent for applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The refresh-token family this token descends from (private claim), so that revoking the
    /// family (RFC 7009 §2.1, reuse detection) revokes the access tokens it produced.
    #[serde(rename = "fam", default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The revocation generations the token was issued under (private claim; see
    /// [`crate::oauth::revocation`]). Absent when none was ever moved.
    #[serde(default, skip_serializing_if = "Marks::is_empty")]
    pub rev: Marks,
    /// The claims the `claims` request parameter asked of `/userinfo` (private claim; absent
    /// when none were).
    #[serde(rename = "uc", default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo_claims: Vec<String>,
}

impl AccessClaims {
    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// A `client_credentials` token: the application acting as itself.
    pub fn is_service(&self) -> bool {
        self.sub == self.client_id
    }

    pub fn issued_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.iat).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A new token id: 128 random bits.
pub fn new_jti() -> String {
    crate::crypto::random_token::<16>()
}

/// Signs access-token claims with the active ES256 key.
pub fn mint(keyring: &Keyring, claims: &AccessClaims) -> Result<String, JwtError> {
    let key = keyring.active(SigningAlg::Es256).ok_or(JwtError::UnknownKey)?;
    jwt::sign(key, ACCESS_TOKEN_TYP, claims)
}

/// Why an access token is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token was revoked")]
    Revoked,
}

/// Verifies an access token's signature, `typ`, issuer and expiry at `now`. ID tokens and
/// tokens of other issuers are refused.
pub fn validate(keyring: &Keyring, issuer: &str, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
    let claims: AccessClaims = jwt::verify(keyring, token, Some(ACCESS_TOKEN_TYP)).map_err(|_| TokenError::Invalid)?;
    check(&claims, issuer, now)?;
    Ok(claims)
}

/// The claim rules of [`validate`], for claims whose signature was checked before.
pub fn check(claims: &AccessClaims, issuer: &str, now: OffsetDateTime) -> Result<(), TokenError> {
    if claims.iss != issuer {
        return Err(TokenError::Invalid);
    }
    if claims.expires_at() <= now {
        return Err(TokenError::Expired);
    }
    // Tolerate small clock skew between nodes, but not tokens from the future.
    if claims.issued_at() > now + Duration::seconds(60) {
        return Err(TokenError::Invalid);
    }
    Ok(())
}
