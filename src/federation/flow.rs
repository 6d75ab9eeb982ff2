//! The relying-party round trip: [`start`] sends the browser to the upstream with the code flow,
//! PKCE, state and nonce; [`finish`] checks what comes back to `/federation/callback` and yields
//! the upstream's verified claims.
//!
//! The state names a single-use record in the hot-state store: the chosen provider, the issuer
//! its metadata gave, the nonce, the PKCE verifier and a digest of the browser's binding cookie.
//! So a response is accepted once, only in the browser that started it, and only from the
//! provider it was sent to: the `iss` of the response must be that issuer (RFC 9207, the mix-up
//! defence of RFC 9700 §4.4), and the code is redeemed at that provider alone.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, RequestTokenError, Scope, SignatureVerificationError, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Duration;
use uuid::Uuid;

use crate::crypto::digest;
use crate::crypto::random_token;
use crate::crypto::sealed;
use crate::model::idp::IdentityProvider;
use crate::oauth::ports::Use;
use crate::outbound::{self as upstream, Metadata, UpstreamError};
use crate::security::Services;
use crate::store::StoreError;

/// How long the user may take at the upstream.
pub const LIFETIME: Duration = Duration::minutes(15);

/// Where every upstream sends the browser back.
pub const CALLBACK_PATH: &str = "/federation/callback";

/// A sign-in sent upstream, waiting for the browser to come back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outbound {
    pub idp_id: Uuid,
    /// The issuer as the upstream's metadata spells it: the `iss` the answer must carry.
    pub issuer: String,
    pub nonce: String,
    pub verifier: String,
    /// A digest of the browser's binding cookie.
    pub browser: String,
    /// The parked authorization request to continue.
    pub req: Option<String>,
    pub created_at: i64,
    /// The application asked for a sign-in at most this many seconds old (`max_age`; 0 for
    /// `prompt=login`): the upstream was asked the same, and its `auth_time` must show it.
    #[serde(default)]
    pub max_age: Option<i64>,
}

/// How fresh the upstream sign-in must be, from the application's request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Freshness {
    /// `prompt=login`: the user must authenticate again upstream.
    pub login: bool,
    pub max_age: Option<i64>,
}

impl Freshness {
    fn max_age(self) -> Option<i64> {
        if self.login { Some(0) } else { self.max_age }
    }
}

/// Clock skew allowed between Propusk and an upstream when judging `auth_time`.
const SKEW: i64 = 30;

/// Why a federated sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("the provider is missing or turned off")]
    Disabled,
    /// Unknown, expired or already used state.
    #[error("unknown or expired state")]
    Expired,
    #[error("the state was already used")]
    Replayed,
    /// The state was started in another browser.
    #[error("the state belongs to another browser")]
    OtherBrowser,
    /// The `iss` of the response is not the provider the state was sent to.
    #[error("the response comes from {0:?}, not the identity provider the sign-in was sent to")]
    WrongIssuer(String),
    /// No `iss` in the response, though the provider's metadata says it sends one.
    #[error("the response has no iss, though the identity provider sends one (RFC 9207)")]
    MissingIssuer,
    /// The upstream reported an error (`access_denied` when the user declined).
    #[error("the identity provider answered {error}")]
    Denied { error: String, description: Option<String> },
    /// The upstream refused to redeem the code (used, expired, or not ours).
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    /// The ID token failed verification (signature, issuer, audience, nonce, expiry).
    #[error("the ID token is not valid: {0}")]
    BadToken(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the client secret cannot be read: {0}")]
    Secret(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn key(state: &str) -> crate::store::hot::Key<'_> {
    crate::store::hot::Key::FederationState(state)
}

/// Propusk's callback URL, registered at every upstream.
pub fn callback_url(provider: &Services) -> String {
    provider.endpoint(CALLBACK_PATH)
}

fn client_of(
    provider: &Services,
    idp: &IdentityProvider,
    metadata: &Metadata,
) -> Result<upstream::UpstreamClient, FederationError> {
    let secret = match &idp.client_secret_enc {
        Some(sealed) => {
            let plain = sealed::open(&provider.seal_key, &IdentityProvider::seal_context(idp.id), sealed)
                .map_err(|e| FederationError::Secret(e.to_string()))?;
            Some(String::from_utf8(plain).map_err(|e| FederationError::Secret(e.to_string()))?)
        }
        None => None,
    };
    Ok(upstream::client(
        metadata,
        &idp.client_id,
        secret,
        &callback_url(provider),
    )?)
}

/// Starts a sign-in at `idp` for the browser whose binding cookie is `browser`; returns the
/// upstream authorization URL to send it to.
pub async fn start(
    provider: &Services,
    idp: &IdentityProvider,
    browser: &str,
    req: Option<&str>,
    login_hint: Option<&str>,
    fresh: Freshness,
) -> Result<String, FederationError> {
    if !idp.enabled {
        return Err(FederationError::Disabled);
    }
    let metadata = provider.upstreams.metadata(idp.issuer_str()).await?;
    let client = client_of(provider, idp, &metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new(random_token::<32>()),
            || Nonce::new(random_token::<32>()),
        )
        .set_pkce_challenge(challenge);
    for scope in idp.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint);
    }
    if fresh.login {
        request = request.add_extra_param("prompt", "login");
    }
    if let Some(max_age) = fresh.max_age() {
        request = request.add_extra_param("max_age", max_age.to_string());
    }
    let (url, state, nonce) = request.url();
    let now = provider.clock.now();
    let outbound = Outbound {
        idp_id: idp.id,
        issuer: metadata.issuer().as_str().to_owned(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        browser: digest(browser),
        req: req.map(str::to_owned),
        created_at: now.unix_timestamp(),
        max_age: fresh.max_age(),
    };
    provider
        .state
        .put_record(key(state.secret()), &outbound, now + LIFETIME)
        .await?;
    Ok(url.to_string())
}

/// What the upstream sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A verified upstream sign-in.
#[derive(Debug, Clone)]
pub struct Verified {
    pub idp: IdentityProvider,
    /// The ID token's claims, completed by userinfo.
    pub claims: Map<String, Value>,
    /// The issuer the identity belongs to.
    pub issuer: String,
    pub req: Option<String>,
}

/// A failed callback, with the parked request its state named (when it named one): the error
/// page offers the way back to the application.
#[derive(Debug)]
pub struct Failed {
    pub error: FederationError,
    pub req: Option<String>,
}

/// Checks the callback and redeems its code; the upstream's verified claims.
pub async fn finish(provider: &Services, callback: &Callback, browser: Option<&str>) -> Result<Verified, Failed> {
    let failed = |error: FederationError, req: Option<String>| Failed { error, req };
    let state = callback
        .state
        .as_deref()
        .ok_or_else(|| failed(FederationError::Expired, None))?;
    let outbound = match provider
        .state
        .take_record::<Outbound>(key(state))
        .await
        .map_err(|e| failed(e.into(), None))?
    {
        Use::First(outbound) => outbound,
        Use::Again(outbound) => return Err(failed(FederationError::Replayed, outbound.req)),
        Use::Missing => return Err(failed(FederationError::Expired, None)),
    };
    let req = outbound.req.clone();
    verify(provider, callback, browser, outbound)
        .await
        .map_err(|error| failed(error, req))
}

/// The checks after the state was taken: browser, provider, `iss`, code exchange, ID token,
/// userinfo.
async fn verify(
    provider: &Services,
    callback: &Callback,
    browser: Option<&str>,
    outbound: Outbound,
) -> Result<Verified, FederationError> {
    let bound = browser.is_some_and(|b| {
        use subtle::ConstantTimeEq as _;
        bool::from(digest(b).as_bytes().ct_eq(outbound.browser.as_bytes()))
    });
    if !bound {
        return Err(FederationError::OtherBrowser);
    }
    let Some(idp) = provider.db.find_idp(outbound.idp_id).await?.filter(|i| i.enabled) else {
        return Err(FederationError::Disabled);
    };
    let metadata = provider.upstreams.metadata(idp.issuer_str()).await?;
    if metadata.issuer().as_str() != outbound.issuer {
        // The provider was pointed elsewhere since the sign-in started.
        return Err(FederationError::Disabled);
    }
    match callback.iss.as_deref() {
        Some(iss) if iss != outbound.issuer => {
            return Err(FederationError::WrongIssuer(iss.chars().take(200).collect()));
        }
        None if metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            == Some(true) =>
        {
            return Err(FederationError::MissingIssuer);
        }
        _ => {}
    }
    if let Some(error) = &callback.error {
        return Err(FederationError::Denied {
            error: error.chars().take(64).collect(),
            description: callback
                .error_description
                .as_ref()
                .map(|d| d.chars().take(200).collect()),
        });
    }
    let code = callback
        .code
        .clone()
        .ok_or_else(|| UpstreamError::Invalid("the answer has neither a code nor an error".into()))?;
    let client = client_of(provider, &idp, &metadata)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(outbound.verifier.clone()))
        .request_async(&upstream::Capped(&provider.upstreams))
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                FederationError::CodeRefused(r.error().to_string().chars().take(64).collect())
            }
            RequestTokenError::Request(e) => UpstreamError::Unreachable(format!("token endpoint: {e}")).into(),
            RequestTokenError::Parse(e, _) => UpstreamError::Invalid(format!("token response: {e}")).into(),
            RequestTokenError::Other(e) => UpstreamError::Invalid(format!("token response: {e}")).into(),
        })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| FederationError::BadToken("the token response has no ID token".into()))?;
    let nonce = Nonce::new(outbound.nonce.clone());
    let verified = id_token.claims(&client.id_token_verifier(), &nonce).map(drop);
    if let Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) = verified {
        // The upstream may have rotated its keys: fetch them again (once) and retry.
        let fresh = provider
            .upstreams
            .refresh_keys(idp.issuer_str(), &metadata)
            .await?
            .ok_or_else(|| FederationError::BadToken("no key of the provider matches the ID token".into()))?;
        let client = client_of(provider, &idp, &fresh)?;
        id_token
            .claims(&client.id_token_verifier(), &nonce)
            .map_err(|e| FederationError::BadToken(e.to_string()))?;
    } else {
        verified.map_err(|e| FederationError::BadToken(e.to_string()))?;
    }
    let mut claims = payload(&id_token.to_string())?;
    if let Some(max_age) = outbound.max_age {
        // The application asked for a fresh sign-in: the upstream's must be as fresh, not an
        // old upstream session replayed silently.
        #[allow(clippy::cast_possible_truncation)]
        let auth_time = claims.get("auth_time").and_then(Value::as_f64).map(|t| t as i64);
        if auth_time.is_none_or(|t| t < outbound.created_at - max_age - SKEW) {
            return Err(FederationError::BadToken(format!(
                "the upstream sign-in is older than the max_age of {max_age} s the application asked for"
            )));
        }
    }
    if let Some(endpoint) = metadata.userinfo_endpoint() {
        let body = provider
            .upstreams
            .get(endpoint.url().as_str(), Some(tokens.access_token().secret()))
            .await?;
        let info: Map<String, Value> =
            serde_json::from_slice(&body).map_err(|e| UpstreamError::Invalid(format!("userinfo: {e}")))?;
        if info.get("sub") != claims.get("sub") {
            return Err(UpstreamError::Invalid("userinfo names another subject than the ID token".into()).into());
        }
        for (name, value) in info {
            claims.entry(name).or_insert(value);
        }
    }
    Ok(Verified {
        idp,
        claims,
        issuer: outbound.issuer,
        req: outbound.req,
    })
}

/// The claims of a (verified) compact JWT.
fn payload(jwt: &str) -> Result<Map<String, Value>, FederationError> {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| FederationError::BadToken("the ID token payload is not a JSON object".into()))
}
