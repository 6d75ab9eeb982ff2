//! Authorization server metadata: OpenID Connect Discovery 1.0 and RFC 8414. Lists exactly what
//! this server supports; endpoints appear here as they are built.

use serde_json::{Value, json};

use super::provider::Provider;

/// The discovery document.
pub fn document(provider: &Provider) -> Value {
    let p = provider;
    json!({
        "issuer": p.issuer,
        "authorization_endpoint": p.endpoint("/authorize"),
        "jwks_uri": p.endpoint("/jwks"),
        "userinfo_endpoint": p.endpoint("/userinfo"),
        "end_session_endpoint": p.endpoint("/logout"),
        "token_endpoint": p.endpoint("/token"),
        "pushed_authorization_request_endpoint": p.endpoint("/par"),
        "require_pushed_authorization_requests": false,
        "introspection_endpoint": p.endpoint("/introspect"),
        "revocation_endpoint": p.endpoint("/revoke"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "acr_values_supported": super::acr::SUPPORTED,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
            "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
            "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified", "address",
            "role", "clientId"
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": super::client_assertion::ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": super::client_assertion::ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": super::client_assertion::ALGORITHMS,
        "scopes_supported": ["openid", "profile", "email", "phone", "address", "offline_access"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    })
}
