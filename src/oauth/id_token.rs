//! ID tokens (OpenID Connect Core §2, §3.1.3.6–7) and the user claims they and `/userinfo` carry
//! (§5.1, §5.4 scope claims, §5.5 the `claims` request parameter).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::OAuthError;
use super::jwt;
use super::provider::Provider;
use super::subject::Subject;
use crate::crypto::sha256;
use crate::model::application::{Application, ClientId};
use crate::model::scope::Scope;
use crate::model::user::User;

/// The registered claims of an ID token; user claims are flattened in.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub user: Map<String, Value>,
}

/// `at_hash`: base64url of the left half of SHA-256 of the access token (both RS256 and ES256
/// use SHA-256).
pub fn at_hash(access_token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sha256(access_token.as_bytes())[..16])
}

/// Signs an ID token with the application's algorithm (RS256 unless it asked for ES256).
pub fn mint(provider: &Provider, app: &Application, claims: &IdClaims) -> Result<String, jwt::JwtError> {
    let keyring = provider.keyring();
    let key = keyring.active(app.id_token_alg).ok_or(jwt::JwtError::UnknownKey)?;
    jwt::sign(key, "JWT", claims)
}

/// What the authorization request asked of the ID token.
#[derive(Debug, Default)]
pub struct Asked<'a> {
    pub nonce: Option<String>,
    /// The `claims` request parameter.
    pub claims: Option<&'a Value>,
}

/// The ID token that accompanies `access_token` for `user` when `scope` has `openid` (OpenID
/// Connect Core §3.1.3.3): signed with the application's algorithm, bound to the access token
/// by `at_hash`, carrying the scope's user claims and those the `claims` parameter asked for.
pub fn issue(
    provider: &Provider,
    app: &Application,
    user: &User,
    subject: &Subject,
    scope: &Scope,
    access_token: &str,
    asked: Asked<'_>,
) -> Result<Option<String>, OAuthError> {
    if !scope.contains("openid") {
        return Ok(None);
    }
    let now = provider.clock.now();
    let claims = IdClaims {
        iss: provider.issuer.clone(),
        sub: subject.sub.clone(),
        aud: app.client_id.to_string(),
        exp: (now + provider.access_token_ttl).unix_timestamp(),
        iat: now.unix_timestamp(),
        auth_time: subject.auth_time,
        nonce: asked.nonce,
        amr: subject.amr.clone(),
        sid: subject.sid.clone(),
        at_hash: Some(at_hash(access_token)),
        user: user_claims(user, scope, asked.claims, Target::IdToken, app.first_party),
    };
    mint(provider, app, &claims).map(Some).map_err(|e| {
        tracing::error!(error = %e, "signing an ID token failed");
        OAuthError::server_error()
    })
}

/// The subject of an `id_token_hint` we issued to `client` (expired ones are accepted, as RP-
/// Initiated Logout §2 allows); `None` if it is not ours.
pub fn hint_subject(provider: &Provider, hint: &str, client: &ClientId) -> Option<String> {
    hint_claims(provider, hint)
        .filter(|c| c.aud == client.as_str())
        .map(|c| c.sub)
}

/// The claims of an `id_token_hint` we issued, to any client; expiry not checked.
pub fn hint_claims(provider: &Provider, hint: &str) -> Option<IdClaims> {
    let claims: IdClaims = jwt::verify(&provider.keyring(), hint, Some("JWT")).ok()?;
    (claims.iss == provider.issuer).then_some(claims)
}

/// Where claims are going: they may be requested for one and not the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    IdToken,
    UserInfo,
}

/// The scope that releases a user claim; `None` for claims every token carries.
fn scope_of(claim: &str) -> Option<&'static str> {
    match claim {
        "name" | "preferred_username" | "updated_at" => Some("profile"),
        "email" | "email_verified" => Some("email"),
        "phone_number" | "phone_number_verified" => Some("phone"),
        _ => None,
    }
}

/// The user claims for `target`. `/userinfo` gets every claim the granted `scope` releases
/// (OpenID Connect Core §5.4); the ID token gets `role` and `clientId`, plus the claims the
/// `claims` request parameter asks of it (§5.5) — but only those the granted scope releases,
/// so the parameter never reveals more than the user consented to. `role` goes to first-party
/// applications only, as in access tokens (DESIGN.md, Token authority).
pub fn user_claims(
    user: &User,
    scope: &Scope,
    requested: Option<&Value>,
    target: Target,
    first_party: bool,
) -> Map<String, Value> {
    let member = match target {
        Target::IdToken => "id_token",
        Target::UserInfo => "userinfo",
    };
    let asked: Vec<String> = requested
        .and_then(|r| r.get(member))
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = Map::new();
    for (name, value) in all_claims(user) {
        let released = scope_of(name).is_none_or(|s| scope.contains(s));
        let wanted = match target {
            Target::UserInfo => true,
            Target::IdToken => scope_of(name).is_none() || asked.iter().any(|a| a == name),
        };
        if released && wanted && !value.is_null() && (first_party || name != "role") {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

fn all_claims(user: &User) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(user.name)),
        ("preferred_username", json!(user.username)),
        ("updated_at", json!(user.updated_at.unix_timestamp())),
        ("email", json!(user.email)),
        (
            "email_verified",
            if user.email.is_some() {
                json!(user.email_verified)
            } else {
                Value::Null
            },
        ),
        ("phone_number", json!(user.phone)),
        (
            "phone_number_verified",
            if user.phone.is_some() {
                json!(user.phone_verified)
            } else {
                Value::Null
            },
        ),
        ("role", json!(user.role)),
        ("clientId", json!(user.client_id)),
    ]
}
