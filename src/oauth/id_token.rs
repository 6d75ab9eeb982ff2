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
use crate::model::profile::PROFILE_CLAIMS;
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
    pub acr: Option<String>,
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
    sign_for(provider, app, "JWT", claims)
}

/// Signs `claims` with the application's ID token algorithm, typed `typ`.
fn sign_for<C: Serialize>(
    provider: &Provider,
    app: &Application,
    typ: &str,
    claims: &C,
) -> Result<String, jwt::JwtError> {
    let keyring = provider.keyring();
    let key = keyring.active(app.id_token_alg).ok_or(jwt::JwtError::UnknownKey)?;
    jwt::sign(key, typ, claims)
}

/// The `events` member of a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token for `app` about the end of `sub`'s session `sid` (OpenID Connect Back-Channel
/// Logout 1.0 §2.4): signed like the application's ID tokens, typed `logout+jwt`, with `events`
/// and no `nonce`, valid for two minutes.
pub fn logout_token(provider: &Provider, app: &Application, sub: &str, sid: &str) -> Result<String, jwt::JwtError> {
    let now = provider.clock.now().unix_timestamp();
    let claims = json!({
        "iss": provider.issuer,
        "aud": app.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": crate::crypto::random_token::<16>(),
        "sub": sub,
        "sid": sid,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    sign_for(provider, app, "logout+jwt", &claims)
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
        acr: Some(super::acr::of(&subject.amr).to_owned()),
        sid: subject.sid.clone(),
        at_hash: Some(at_hash(access_token)),
        user: user_claims(
            user,
            scope,
            &requested(asked.claims, Target::IdToken),
            Target::IdToken,
            app,
        ),
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
pub fn scope_of(claim: &str) -> Option<&'static str> {
    match claim {
        "name" | "preferred_username" | "updated_at" => Some("profile"),
        c if PROFILE_CLAIMS.contains(&c) => Some("profile"),
        "email" | "email_verified" => Some("email"),
        "phone_number" | "phone_number_verified" => Some("phone"),
        "address" => Some("address"),
        _ => None,
    }
}

/// The user claims a `claims` request parameter (OpenID Connect Core §5.5) names for `target`.
pub fn requested(claims: Option<&Value>, target: Target) -> Vec<String> {
    let member = match target {
        Target::IdToken => "id_token",
        Target::UserInfo => "userinfo",
    };
    claims
        .and_then(|r| r.get(member))
        .and_then(Value::as_object)
        .map(|o| o.keys().filter(|k| scope_of(k).is_some()).cloned().collect())
        .unwrap_or_default()
}

/// The scopes that the claims a `claims` parameter names one by one belong to, among those the
/// application may have: asking for `name` alone needs the user's consent to `profile` as
/// asking for the scope would (the consent page lists them), but releases only what was named.
pub fn claim_scopes(claims: Option<&Value>, allowed: &Scope) -> Scope {
    let names = [Target::IdToken, Target::UserInfo]
        .into_iter()
        .flat_map(|t| requested(claims, t))
        .collect::<Vec<_>>();
    let scopes: Vec<&str> = names
        .iter()
        .filter_map(|n| scope_of(n))
        .filter(|s| allowed.contains(s))
        .collect();
    Scope::from_tokens(scopes).unwrap_or_default()
}

/// The user claims for `target`. `/userinfo` gets every claim the granted `scope` releases
/// (OpenID Connect Core §5.4); the ID token gets `role` and `clientId`. Both also get the claims
/// the `claims` request parameter named for them (§5.5) — those of the granted scope, and those
/// of scopes the application may have, which the user consented to one by one (see
/// [`claim_scopes`]). `role` goes to first-party applications only, as in access tokens
/// (DESIGN.md, Token authority).
pub fn user_claims(
    user: &User,
    scope: &Scope,
    requested: &[String],
    target: Target,
    app: &Application,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in all_claims(user) {
        let asked = requested.iter().any(|a| a == name);
        let released = match scope_of(name) {
            None => true,
            Some(s) => scope.contains(s) || (asked && app.scopes.contains(s)),
        };
        let wanted = match target {
            Target::UserInfo => scope_of(name).is_none_or(|s| scope.contains(s)) || asked,
            Target::IdToken => scope_of(name).is_none() || asked,
        };
        if released && wanted && !value.is_null() && (app.first_party || name != "role") {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

fn all_claims(user: &User) -> Vec<(&'static str, Value)> {
    let p = &user.profile;
    let verified = |present: bool, verified: bool| if present { json!(verified) } else { Value::Null };
    vec![
        ("name", json!(user.name)),
        ("given_name", json!(p.given_name)),
        ("family_name", json!(p.family_name)),
        ("middle_name", json!(p.middle_name)),
        ("nickname", json!(p.nickname)),
        ("preferred_username", json!(user.username)),
        ("picture", json!(p.picture)),
        ("website", json!(p.website)),
        ("gender", json!(p.gender)),
        ("birthdate", json!(p.birthdate)),
        ("zoneinfo", json!(p.zoneinfo)),
        ("locale", json!(p.locale)),
        ("updated_at", json!(user.updated_at.unix_timestamp())),
        ("email", json!(user.email)),
        ("email_verified", verified(user.email.is_some(), user.email_verified)),
        ("phone_number", json!(user.phone)),
        (
            "phone_number_verified",
            verified(user.phone.is_some(), user.phone_verified),
        ),
        ("address", json!(p.address)),
        ("role", json!(user.role)),
        ("clientId", json!(user.client_id)),
    ]
}
