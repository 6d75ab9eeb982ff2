//! Authorization codes (RFC 6749 §4.1.2, §10.5): opaque 256-bit, 60 seconds, single use, stored
//! as SHA-256 with everything the token request must match. Redeeming marks a code used (kept
//! until expiry), so a replay is recognised and revokes what the first redemption issued.

use serde::{Deserialize, Serialize};
use time::Duration;

use super::authorize::AuthorizationRequest;
use super::error::OAuthError;
use super::pkce::CodeChallenge;
use super::ports::{CodeOutcome, Use};
use super::provider::Provider;
use super::session::Session;
use crate::crypto::random_token;
use crate::model::StoreError;
use crate::model::user::UserId;

pub const LIFETIME: Duration = Duration::seconds(60);

/// What a code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: crate::model::application::ClientId,
    pub redirect_uri: crate::model::redirect_uri::RedirectUri,
    pub redirect_uri_given: bool,
    pub user_id: UserId,
    pub scope: crate::model::scope::Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub sid: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub claims: Option<serde_json::Value>,
    /// The session's B2B account and the generations it began under: a code from a session
    /// that has ended since is worth nothing.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub session_marks: super::revocation::Marks,
    /// The RFC 8707 resource authorized (`None`: Propusk's audience).
    #[serde(default)]
    pub resource: Option<String>,
}

/// What the first redemption of a code issued, so a replay can revoke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub jti: String,
    pub exp: i64,
    pub family: Option<String>,
    pub family_created: Option<i64>,
}

/// Issues a code for `request`, approved by the user of `session`.
pub async fn issue(
    provider: &Provider,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, OAuthError> {
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_given: request.redirect_uri_given,
        user_id: session.user_id,
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        sid: session.sid.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        claims: request.claims.clone(),
        account: session.account.clone(),
        session_marks: session.marks.clone(),
        resource: request.resource.clone(),
    };
    let code = random_token::<32>();
    provider
        .state
        .put_code(&code, &grant, provider.clock.now() + LIFETIME)
        .await?;
    Ok(code)
}

/// What redeeming a code found.
pub enum Redeemed {
    Fresh(Box<CodeGrant>),
    /// Used before: whatever it issued has been revoked.
    Replayed,
    Unknown,
}

/// Redeems a code once; a second redemption revokes the tokens of the first.
pub async fn redeem(provider: &Provider, code: &str) -> Result<Redeemed, OAuthError> {
    if code.len() > 256 {
        return Ok(Redeemed::Unknown);
    }
    let state = provider.state.as_ref();
    match state.take_code(code).await? {
        Use::Missing => Ok(Redeemed::Unknown),
        Use::First(grant) => Ok(Redeemed::Fresh(Box::new(grant))),
        Use::Again(_) => {
            let until = provider.clock.now() + LIFETIME;
            // What became of the code is written once: the two sides of a race agree on it.
            if !state.settle_code(code, &CodeOutcome::Replayed, until).await? {
                // The first redemption finished: revoke what it issued.
                if let Some(CodeOutcome::Issued(issued)) = state.code_outcome(code).await? {
                    revoke(provider, &issued).await?;
                }
            }
            // Else the first redemption is still minting: it finds the mark and revokes its own.
            tracing::warn!("authorization code replayed; the tokens issued from it are revoked");
            Ok(Redeemed::Replayed)
        }
    }
}

async fn revoke(provider: &Provider, issued: &Issued) -> Result<(), StoreError> {
    let state = provider.state.as_ref();
    let exp = time::OffsetDateTime::from_unix_timestamp(issued.exp).unwrap_or_else(|_| provider.clock.now());
    super::revocation::deny_jti(state, &issued.jti, exp).await?;
    if let (Some(family), Some(created)) = (&issued.family, issued.family_created) {
        let until = time::OffsetDateTime::from_unix_timestamp(created).unwrap_or(exp) + super::refresh::ABSOLUTE;
        super::refresh::revoke_family_id(state, family, until).await?;
    }
    Ok(())
}

/// Records what a code's first redemption issued, for as long as a replay would be recognised.
/// Fails with `invalid_grant`, revoking it all, when a replay came first (RFC 6749 §4.1.2: a
/// code used twice must not leave tokens from it active, whichever request wins the race).
pub async fn record_issued(provider: &Provider, code: &str, issued: &Issued) -> Result<(), OAuthError> {
    let until = provider.clock.now() + LIFETIME;
    let outcome = CodeOutcome::Issued(issued.clone());
    if provider.state.settle_code(code, &outcome, until).await? {
        return Ok(());
    }
    revoke(provider, issued).await?;
    tracing::warn!("authorization code replayed while it was being redeemed; its tokens are revoked");
    Err(OAuthError::invalid_grant(
        "the code was already used; its tokens are revoked",
    ))
}
