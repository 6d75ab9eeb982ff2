//! OAuth/OIDC applications (the OAuth "clients"): who may ask for tokens, how, and for what.
//! Confidential applications hold a 256-bit secret kept only as its SHA-256 (a password hash
//! would cost a bcrypt per token request for no gain on a random secret).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::crypto::{random_token, sha256};
use time::{Duration, OffsetDateTime};

use super::account::AccountId;
use super::role::RoleName;
use super::{InvalidValue, name_enum, string_newtype};
use crate::model::redirect_uri::RedirectUri;
use crate::model::scope::Scope;

string_newtype!(
    /// An application's OAuth `client_id`.
    ClientId
);

/// Read back from stored records (codes, refresh families) through [`ClientId::parse`], so a
/// corrupt value is an error, never a client id nobody registered.
impl<'de> serde::Deserialize<'de> for ClientId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClientId::parse(&s).map_err(|e| serde::de::Error::custom(e.0))
    }
}

impl ClientId {
    /// 1–128 printable ASCII characters without spaces (RFC 6749 §2.2 leaves the form open;
    /// Propusk generates 22-character random ones).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new("must be 1-128 printable characters without spaces"))
        }
    }

    /// A new random id: 128 bits, base64url.
    pub fn generate() -> Self {
        Self(random_token::<16>())
    }
}

name_enum!(
    /// The grants an application may use at `/token`.
    GrantType {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        Password = "password",
    }
);

name_enum!(
    /// The algorithm of an application's ID tokens.
    SigningAlg { Rs256 = "RS256", Es256 = "ES256" }
);

/// A client secret as handed out once. Prints `[redacted]`; compares in constant time.
pub struct ClientSecret(SecretString);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl ClientSecret {
    /// A new random secret: 256 bits, base64url (43 characters).
    pub fn generate() -> Self {
        Self(SecretString::from(random_token::<32>()))
    }

    /// Wraps a secret presented by a client.
    pub fn presented(s: &str) -> Self {
        Self(SecretString::from(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// SHA-256 of the secret: what is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash(sha256(self.0.expose_secret().as_bytes()))
    }
}

/// The stored SHA-256 of a client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash([redacted])")
    }
}

impl SecretHash {
    /// Constant-time check of a presented secret.
    pub fn matches(&self, presented: &ClientSecret) -> bool {
        self.0.ct_eq(&presented.hash().0).into()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub client_id: ClientId,
    pub name: String,
    /// `None` for public applications (browser and native apps, which use PKCE).
    pub secret_hash: Option<SecretHash>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    /// The scopes the application may ask for.
    pub scopes: Scope,
    /// First-party applications skip the consent page and may call the admin API.
    pub first_party: bool,
    /// May call `/introspect` about any token.
    pub may_introspect: bool,
    /// The role of `client_credentials` tokens.
    pub service_role: Option<RoleName>,
    /// The B2B account that owns the application (its `clientId` claim for service tokens).
    pub account_id: Option<AccountId>,
    pub id_token_alg: SigningAlg,
    /// Overrides of the server's token lifetimes.
    pub access_token_ttl: Option<Duration>,
    pub refresh_token_ttl: Option<Duration>,
    pub enabled: bool,
    /// RFC 8707 resources (absolute URIs) its access tokens may be issued for, besides
    /// Propusk's own audience.
    pub resources: Vec<String>,
    /// Whether its access tokens carry `permissions` (off: `/authz/check`, the gateway and
    /// Propusk's own APIs read them from the role and the user, for smaller tokens).
    pub token_permissions: bool,
    /// Settings kept as one JSON column (every member defaults).
    pub settings: ClientSettings,
    /// The revocation generation this copy was read under (not stored: see
    /// [`crate::oauth::clients`]); 0 outside the protocol's cache.
    pub generation: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An application's OpenID Connect and OAuth settings beyond its columns, stored as one JSON
/// object; a member missing from a stored row takes its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// RFC 9126 §6: authorization requests only through `/par`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// Authenticates with `private_key_jwt` (RFC 7523) against `jwks` or `jwks_uri`: a
    /// confidential client without a secret.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private_key_jwt: bool,
    /// Its public keys, as a JWK Set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its public keys (https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Where it takes logout tokens when a session it signed in to ends (OpenID Connect
    /// Back-Channel Logout 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

impl Application {
    /// The application as the admin API and CLI show it (never the secret hash).
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "client_id": self.client_id,
            "name": self.name,
            "public": self.is_public(),
            "redirect_uris": self.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
            "post_logout_redirect_uris": self.post_logout_redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
            "grant_types": self.grant_types,
            "scope": self.scopes.to_string(),
            "first_party": self.first_party,
            "introspect": self.may_introspect,
            "service_role": self.service_role,
            "account_id": self.account_id,
            "id_token_signed_response_alg": self.id_token_alg,
            "enabled": self.enabled,
            "resources": self.resources,
            "token_permissions": self.token_permissions,
            "require_pushed_authorization_requests": self.settings.require_pushed_authorization_requests,
            "token_endpoint_auth_method": self.auth_method(),
            "jwks": self.settings.jwks,
            "jwks_uri": self.settings.jwks_uri,
            "backchannel_logout_uri": self.settings.backchannel_logout_uri,
            "backchannel_logout_session_required": self.settings.backchannel_logout_uri.is_some(),
        })
    }

    /// A public client (browser or native app): no secret and no keys.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && !self.settings.private_key_jwt
    }

    /// How it authenticates at the token endpoint (RFC 7591 names).
    pub fn auth_method(&self) -> &'static str {
        if self.settings.private_key_jwt {
            "private_key_jwt"
        } else if self.secret_hash.is_some() {
            "client_secret_basic"
        } else {
            "none"
        }
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// `N` random bytes, base64url without padding.
/// Checks an RFC 8707 resource indicator: an absolute URI without a fragment (§2).
pub fn parse_resource(s: &str) -> Result<String, InvalidValue> {
    match url::Url::parse(s) {
        Ok(url) if url.fragment().is_none() && !url.cannot_be_a_base() && s.len() <= 512 => Ok(s.to_owned()),
        _ => Err(InvalidValue::new(
            "a resource is an absolute URI without a fragment (RFC 8707 §2)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_and_match_only_themselves() {
        let secret = ClientSecret::generate();
        assert_eq!(secret.expose().len(), 43);
        let hash = secret.hash();
        assert!(hash.matches(&ClientSecret::presented(secret.expose())));
        assert!(!hash.matches(&ClientSecret::presented("guess")));
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
    }

    #[test]
    fn client_ids_are_random() {
        assert_ne!(ClientId::generate(), ClientId::generate());
        assert_eq!(ClientId::generate().as_str().len(), 22);
    }
}
