//! Token endpoint requests (RFC 6749 §4.1.3, §4.4.2, §6): the raw form, converted once into a
//! typed request per grant, or the RFC error naming what is wrong.

use serde::Deserialize;

use super::error::{ErrorCode, OAuthError};
use crate::model::scope::Scope;

/// `/token` parameters as they arrive. Repeated parameters are refused by the form decoder
/// (RFC 6749 §3.2: "MUST NOT be included more than once"); unknown ones are ignored.
/// No `Debug`: it holds secrets (codes, passwords, client secrets) that must never be logged.
#[derive(Default, Deserialize)]
pub struct RawTokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    /// RFC 8707 resource indicator (one at most).
    pub resource: Option<String>,
}

/// A token request, typed per grant. No `Debug`: it holds codes and passwords.
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<Scope>,
    },
    ClientCredentials {
        scope: Option<Scope>,
    },
    Password {
        username: String,
        password: secrecy::SecretString,
        scope: Option<Scope>,
    },
}

fn required(value: Option<&String>, name: &'static str) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

/// Parses an optional `scope` parameter; present but empty counts as absent.
pub fn parse_scope(scope: Option<&str>) -> Result<Option<Scope>, OAuthError> {
    match scope {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Scope::parse(s)
            .map(Some)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.0)),
    }
}

impl TryFrom<&RawTokenRequest> for TokenRequest {
    type Error = OAuthError;

    fn try_from(raw: &RawTokenRequest) -> Result<Self, OAuthError> {
        match raw.grant_type.as_deref() {
            None | Some("") => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required(raw.code.as_ref(), "code")?,
                redirect_uri: raw.redirect_uri.clone(),
                code_verifier: raw.code_verifier.clone(),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: required(raw.refresh_token.as_ref(), "refresh_token")?,
                scope: parse_scope(raw.scope.as_deref())?,
            }),
            Some("password") => Ok(Self::Password {
                username: required(raw.username.as_ref(), "username")?,
                password: required(raw.password.as_ref(), "password")?.into(),
                scope: parse_scope(raw.scope.as_deref())?,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials {
                scope: parse_scope(raw.scope.as_deref())?,
            }),
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {:?} is not supported",
                    other.chars().take(64).collect::<String>()
                ),
            )),
        }
    }
}
