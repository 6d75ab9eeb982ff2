//! Client authentication at the token, introspection, revocation and PAR endpoints (RFC 6749
//! §2.3.1): `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523, see
//! [`super::client_assertion`]), or `none` for public clients. Exactly one method per request;
//! secrets compare in constant time against their stored SHA-256.

use std::sync::Arc;

use base64::Engine as _;

use super::client_assertion::{self, ClientKeys};
use super::error::OAuthError;
use super::provider::Provider;
use crate::model::application::{Application, ClientId, ClientSecret};

/// What the client presented.
#[derive(Debug)]
pub enum Presented {
    Basic {
        id: String,
        secret: ClientSecret,
    },
    Post {
        id: String,
        secret: ClientSecret,
    },
    /// A public client naming itself.
    IdOnly {
        id: String,
    },
    /// A signed JWT (`private_key_jwt`); `id` is the body's `client_id`, if given.
    Assertion {
        id: Option<String>,
        assertion: String,
    },
    Nothing,
}

/// The client credentials a request body may carry.
#[derive(Debug, Default, Clone, Copy)]
pub struct BodyCredentials<'a> {
    pub id: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub assertion_type: Option<&'a str>,
    pub assertion: Option<&'a str>,
}

impl Presented {
    /// Reads the `Authorization` header and the body's `client_id` / `client_secret`.
    pub fn from_request(authorization: Option<&str>, body: BodyCredentials<'_>) -> Result<Self, OAuthError> {
        let (body_id, body_secret) = (body.id, body.secret);
        if body.assertion_type.is_some() || body.assertion.is_some() {
            if authorization.is_some() || body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            if body.assertion_type != Some(super::client_assertion::JWT_BEARER) {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            let assertion = body
                .assertion
                .filter(|a| !a.is_empty())
                .ok_or_else(|| OAuthError::invalid_request("client_assertion is missing"))?;
            return Ok(Self::Assertion {
                id: body_id.map(str::to_owned),
                assertion: assertion.to_owned(),
            });
        }
        if let Some(header) = authorization {
            let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_client());
            }
            let (id, secret) = decode_basic(value.trim()).ok_or_else(OAuthError::invalid_client)?;
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            return Ok(Self::Basic {
                id,
                secret: ClientSecret::presented(&secret),
            });
        }
        Ok(match (body_id, body_secret) {
            (Some(id), Some(secret)) => Self::Post {
                id: id.to_owned(),
                secret: ClientSecret::presented(secret),
            },
            (Some(id), None) => Self::IdOnly { id: id.to_owned() },
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request("client_secret without client_id"));
            }
            (None, None) => Self::Nothing,
        })
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn decode_basic(value: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    let id = decode(id)?;
    (!id.is_empty()).then_some(())?;
    Some((id, decode(secret)?))
}

/// What kind of client an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Confidential clients only (introspection, client_credentials).
    ConfidentialOnly,
    /// Confidential clients with their secret, public clients by id.
    Any,
}

/// Authenticates the client. Unknown clients, wrong secrets, a public client presenting a
/// secret and a confidential one presenting none all get the same `invalid_client`.
pub async fn authenticate(
    provider: &Provider,
    keys: &ClientKeys,
    presented: Presented,
    accept: Accept,
) -> Result<Arc<Application>, OAuthError> {
    let registry = &provider.clients;
    if let Presented::Assertion { id, assertion } = &presented {
        let claimed = client_assertion::client_id_of(assertion).ok_or_else(OAuthError::invalid_client_in_body)?;
        if id.as_deref().is_some_and(|id| id != claimed.as_str()) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the assertion's issuer",
            ));
        }
        let app = registry
            .application(&claimed)
            .await?
            .ok_or_else(OAuthError::invalid_client_in_body)?;
        client_assertion::verify(provider, keys, &app, assertion)
            .await
            .map_err(|_| OAuthError::invalid_client_in_body())?;
        return Ok(app);
    }
    let (id, secret, refused) = match presented {
        Presented::Assertion { .. } => return Err(OAuthError::invalid_client()),
        Presented::Basic { id, secret } => (id, Some(secret), OAuthError::invalid_client as fn() -> OAuthError),
        Presented::Post { id, secret } => (
            id,
            Some(secret),
            OAuthError::invalid_client_in_body as fn() -> OAuthError,
        ),
        Presented::IdOnly { id } => (id, None, OAuthError::invalid_client_in_body as fn() -> OAuthError),
        Presented::Nothing => return Err(OAuthError::invalid_client()),
    };
    let Ok(client_id) = ClientId::parse(&id) else {
        return Err(refused());
    };
    let app = registry.application(&client_id).await?;
    let ok = match (&app, &secret) {
        // A private_key_jwt application authenticates with its key alone.
        (Some(app), Some(secret)) => {
            !app.settings.private_key_jwt && app.secret_hash.as_ref().is_some_and(|h| h.matches(secret))
        }
        (Some(app), None) => app.is_public() && accept == Accept::Any,
        (None, Some(secret)) => {
            // Same work as a real comparison, so timing does not tell which client ids exist.
            let _ = crate::model::application::SecretHash([0; 32]).matches(secret);
            false
        }
        (None, None) => false,
    };
    match app {
        Some(app) if ok => Ok(app),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret+x");
        let (id, secret) = decode_basic(&header).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my app", "s:cret x"));
        assert!(decode_basic("!!!").is_none());
        assert!(decode_basic(&base64::engine::general_purpose::STANDARD.encode("nocolon")).is_none());
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("a:b"));
        let body = |id, secret| BodyCredentials {
            id,
            secret,
            ..BodyCredentials::default()
        };
        let e = Presented::from_request(Some(&header), body(None, Some("b"))).unwrap_err();
        assert_eq!(e.code, super::super::error::ErrorCode::InvalidRequest);
        assert!(Presented::from_request(Some(&header), body(Some("other"), None)).is_err());
        assert!(matches!(
            Presented::from_request(Some(&header), body(Some("a"), None)),
            Ok(Presented::Basic { .. })
        ));
        assert!(Presented::from_request(Some("Bearer x"), body(None, None)).is_err());
        let assertion = |t, secret| BodyCredentials {
            assertion_type: Some(t),
            assertion: Some("a.b.c"),
            secret,
            ..BodyCredentials::default()
        };
        assert!(matches!(
            Presented::from_request(None, assertion(client_assertion::JWT_BEARER, None)),
            Ok(Presented::Assertion { .. })
        ));
        assert!(Presented::from_request(Some(&header), assertion(client_assertion::JWT_BEARER, None)).is_err());
        assert!(Presented::from_request(None, assertion(client_assertion::JWT_BEARER, Some("s"))).is_err());
        assert!(Presented::from_request(None, assertion("urn:other", None)).is_err());
    }
}
