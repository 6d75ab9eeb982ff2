//! The authorization endpoint's rules (RFC 6749 §4.1.1–4.1.2, OpenID Connect Core §3.1.2,
//! RFC 7636, RFC 9207, RFC 9700 §2.1): validating a request, deciding whether the user must log
//! in or consent, and building the redirect back to the client.

mod next;
mod params;

pub use next::{Next, next_step};
pub use params::Prompt;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{ErrorCode, OAuthError};
use super::pkce::CodeChallenge;
use super::provider::Provider;
use super::session::Session;
use crate::model::application::{Application, ClientId, GrantType};
use crate::model::redirect_uri::RedirectUri;
use crate::model::scope::Scope;

/// `/authorize` parameters as they arrive (query or form). No `Debug`: `id_token_hint`.
#[derive(Default, Deserialize)]
pub struct RawAuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    pub claims: Option<String>,
    pub response_mode: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub ui_locales: Option<String>,
    /// RFC 8707 resource indicator (one at most).
    pub resource: Option<String>,
}

/// A validated authorization request, kept while the user signs in and consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// The redirect URI the response goes to.
    pub redirect_uri: RedirectUri,
    /// Whether the request named it (then the token request must repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    /// What `prompt` asked for (OpenID Connect Core §3.1.2.1).
    #[serde(default)]
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The `sub` of a valid `id_token_hint`: the user the client expects.
    pub expected_sub: Option<String>,
    /// The `claims` request parameter (OpenID Connect Core §5.5).
    pub claims: Option<serde_json::Value>,
    /// Set once the user has signed in for this very request, which satisfies `prompt=login`.
    pub login_done: bool,
    /// The language of the sign-in pages (`en`, `ru`): the first spoken one of `ui_locales`.
    /// A language the user chooses with the switch after `requested_at` comes first.
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// When the request arrived (unix seconds).
    #[serde(default)]
    pub requested_at: i64,
    /// The RFC 8707 resource the tokens are for (one the client may ask for).
    #[serde(default)]
    pub resource: Option<String>,
    /// How the answer goes back to the client.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// The scopes of claims the `claims` parameter asked for one by one (among those the
    /// application may have): the user consents to them as to the requested scope.
    #[serde(default)]
    pub claim_scopes: Scope,
    /// The request accepts only `urn:propusk:loa:2` (see [`super::acr`]): a session without a
    /// second factor steps up.
    #[serde(default)]
    pub requires_second_factor: bool,
}

/// How the answer travels to the client: in the redirect URI's query (RFC 6749 §4.1.2), or as
/// an HTML form the browser posts to it (OAuth 2.0 Form Post Response Mode), which keeps the
/// code out of URLs, logs and the Referer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

impl ResponseMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "query" => Some(Self::Query),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// An answer for the client at its redirect URI: the parameters (with `iss`, RFC 9207) and
/// how they travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub redirect_uri: String,
    pub params: Vec<(String, String)>,
    pub mode: ResponseMode,
}

impl Answer {
    fn new(provider: &Provider, redirect_uri: &str, params: &[(&str, &str)], mode: ResponseMode) -> Self {
        let mut params: Vec<(String, String)> =
            params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        params.push(("iss".into(), provider.issuer.clone()));
        Self {
            redirect_uri: redirect_uri.to_owned(),
            params,
            mode,
        }
    }

    /// The redirect URI with the parameters appended to its query (the `query` mode).
    pub fn url(&self) -> String {
        let Ok(mut url) = Url::parse(&self.redirect_uri) else {
            return self.redirect_uri.clone();
        };
        url.query_pairs_mut().extend_pairs(&self.params);
        url.to_string()
    }
}

impl AuthorizationRequest {
    pub fn scope(&self) -> Scope {
        self.scope.clone()
    }

    /// What the user consents to: the requested scope and the scopes of claims asked for one by
    /// one.
    pub fn consent_scope(&self) -> Scope {
        Scope::from_tokens(self.scope.iter().chain(self.claim_scopes.iter())).unwrap_or_else(|_| self.scope())
    }
}

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Fatal(String),
    /// Tell the client, at its redirect URI.
    Redirect(Answer),
}

const MAX_PARAM: usize = 2048;

/// The `request_uri` of a pushed authorization request: this prefix and a random id (RFC 9126
/// §2.2).
pub const PUSHED_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request waits for its `/authorize` (RFC 9126 §2.2: short).
pub const PUSHED_LIFETIME: time::Duration = time::Duration::seconds(60);

/// Validates a request: first client and redirect URI (failures are fatal), then the rest
/// (failures redirect with the RFC code). A `request_uri` of a pushed request stands for the
/// request the client pushed (once).
pub async fn validate(
    provider: &Provider,
    raw: &RawAuthorizationRequest,
) -> Result<(AuthorizationRequest, std::sync::Arc<Application>), AuthorizeError> {
    if let Some(id) = raw.request_uri.as_deref().and_then(|u| u.strip_prefix(PUSHED_PREFIX)) {
        return pushed(provider, raw, id).await;
    }
    check(provider, raw, false).await
}

/// [`validate`] of a request that arrived at `/authorize` or, `via_par`, at `/par`.
async fn check(
    provider: &Provider,
    raw: &RawAuthorizationRequest,
    via_par: bool,
) -> Result<(AuthorizationRequest, std::sync::Arc<Application>), AuthorizeError> {
    let (app, redirect_uri) = client_and_redirect(provider, raw).await?;
    if app.settings.require_pushed_authorization_requests && !via_par {
        let state = raw.state.clone().filter(|s| !s.is_empty());
        return Err(AuthorizeError::Redirect(error_answer(
            provider,
            redirect_uri.as_str(),
            ErrorCode::InvalidRequest.as_str(),
            "this client must push its authorization requests (RFC 9126)",
            state.as_deref(),
            ResponseMode::Query,
        )));
    }
    let state = raw.state.clone().filter(|s| !s.is_empty());
    // Errors go back the way the client asked for the answer, when that way is known.
    let mode = raw
        .response_mode
        .as_deref()
        .and_then(ResponseMode::parse)
        .unwrap_or_default();
    let to_client = |(code, description): (&str, &str)| {
        AuthorizeError::Redirect(error_answer(
            provider,
            redirect_uri.as_str(),
            code,
            description,
            state.as_deref(),
            mode,
        ))
    };
    let request = parameters(provider, raw, &app, &redirect_uri, state.clone()).map_err(to_client)?;
    Ok((request, app))
}

/// The request an application pushed, taken once by its `request_uri`; the `client_id` of the
/// front-channel request must name the same application (RFC 9126 §4).
async fn pushed(
    provider: &Provider,
    raw: &RawAuthorizationRequest,
    id: &str,
) -> Result<(AuthorizationRequest, std::sync::Arc<Application>), AuthorizeError> {
    let gone = || fatal("the request_uri is unknown, expired or already used: start the sign-in again");
    if id.is_empty() || id.len() > 64 {
        return Err(gone());
    }
    let client_id = raw
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| fatal("client_id is missing"))?;
    let request = provider
        .state
        .take_pushed(id)
        .await
        .map_err(|_| fatal("the service is temporarily unavailable; try again shortly"))?
        .ok_or_else(gone)?;
    if request.client_id.as_str() != client_id {
        return Err(gone());
    }
    let app = provider
        .clients
        .application(&request.client_id)
        .await
        .map_err(|_| fatal("the service is temporarily unavailable; try again shortly"))?
        .ok_or_else(|| fatal("unknown client"))?;
    Ok((request, app))
}

/// A pushed authorization request (RFC 9126 §2.1) of the authenticated `app`: checked as at
/// `/authorize`, kept for [`PUSHED_LIFETIME`]; returns its `request_uri`. A refusal is the
/// error code and description to answer the client with (never a redirect).
pub async fn push(
    provider: &Provider,
    app: &Application,
    mut raw: RawAuthorizationRequest,
) -> Result<String, (String, String)> {
    let refuse = |code: &str, description: &str| (code.to_owned(), description.to_owned());
    if raw.request_uri.is_some() {
        return Err(refuse("invalid_request", "request_uri cannot be pushed"));
    }
    match raw.client_id.as_deref() {
        None | Some("") => raw.client_id = Some(app.client_id.to_string()),
        Some(id) if id == app.client_id.as_str() => {}
        Some(_) => return Err(refuse("invalid_request", "client_id is not the authenticated client")),
    }
    let request = match check(provider, &raw, true).await {
        Ok((request, _)) => request,
        Err(AuthorizeError::Fatal(message)) => return Err(refuse("invalid_request", &message)),
        Err(AuthorizeError::Redirect(answer)) => {
            let param = |name: &str| {
                answer
                    .params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            return Err((param("error"), param("error_description")));
        }
    };
    let id = crate::crypto::random_token::<32>();
    provider
        .state
        .push_request(&id, &request, provider.clock.now() + PUSHED_LIFETIME)
        .await
        .map_err(|_| refuse("temporarily_unavailable", "try again shortly"))?;
    Ok(format!("{PUSHED_PREFIX}{id}"))
}

/// The application and the redirect URI the answer may go to: until both are known, nothing
/// may be sent anywhere (RFC 6749 §4.1.2.1), so every failure here is fatal.
async fn client_and_redirect(
    provider: &Provider,
    raw: &RawAuthorizationRequest,
) -> Result<(std::sync::Arc<Application>, RedirectUri), AuthorizeError> {
    let client_id = raw
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| fatal("client_id is missing"))?;
    let client_id = ClientId::parse(client_id).map_err(|_| fatal("client_id is malformed"))?;
    let app = provider
        .clients
        .application(&client_id)
        .await
        .map_err(|_| fatal("the server is temporarily unavailable"))?
        .ok_or_else(|| fatal("unknown client"))?;
    let redirect_uri = match raw.redirect_uri.as_deref() {
        Some(given) => {
            match_redirect_uri(&app, given).ok_or_else(|| fatal("redirect_uri is not registered for this client"))?
        }
        None if app.redirect_uris.len() == 1 && !requests_openid(raw) => app.redirect_uris[0].clone(),
        None => return Err(fatal("redirect_uri is missing")),
    };
    Ok((app, redirect_uri))
}

/// Every other parameter, checked in the order the RFCs' error codes suggest; a refusal is the
/// error code and description to send back to the client.
fn parameters(
    provider: &Provider,
    raw: &RawAuthorizationRequest,
    app: &Application,
    redirect_uri: &RedirectUri,
    state: Option<String>,
) -> Result<AuthorizationRequest, (&'static str, &'static str)> {
    let refuse = |(code, description): params::Refusal| (code.as_str(), description);
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(refuse((ErrorCode::InvalidRequest, "state is too long")));
    }
    if raw.request.is_some() {
        return Err(("request_not_supported", "request objects are not supported"));
    }
    if raw.request_uri.is_some() {
        return Err(("request_uri_not_supported", "request_uri is not supported"));
    }
    params::response(raw).map_err(refuse)?;
    if !app.allows_grant(GrantType::AuthorizationCode) {
        return Err(refuse((
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        )));
    }
    let scope = params::scope(raw, &app.scopes).map_err(refuse)?;
    let code_challenge = params::pkce(raw, app.is_public()).map_err(refuse)?;
    let prompts = params::prompts(raw).map_err(refuse)?;
    let max_age = params::max_age(raw).map_err(refuse)?;
    let claims = params::claims(raw).map_err(refuse)?;
    let (nonce, login_hint) = params::nonce_and_hint(raw).map_err(refuse)?;
    let resource = match raw.resource.as_deref() {
        None | Some("") => None,
        Some(r) => Some(super::grant::audience(provider, app, Some(r)).map_err(|_| {
            refuse((
                ErrorCode::InvalidTarget,
                "the resource is not one this client may ask for",
            ))
        })?),
    };
    let expected_sub = match raw.id_token_hint.as_deref() {
        None | Some("") => None,
        Some(hint) => Some(
            super::id_token::hint_subject(provider, hint, &app.client_id).ok_or_else(|| {
                refuse((
                    ErrorCode::InvalidRequest,
                    "id_token_hint is not an ID token this server issued to this client",
                ))
            })?,
        ),
    };
    let response_mode = raw
        .response_mode
        .as_deref()
        .and_then(ResponseMode::parse)
        .unwrap_or_default();
    let claim_scopes = super::id_token::claim_scopes(claims.as_ref(), &app.scopes);
    if raw.acr_values.as_deref().is_some_and(|v| v.len() > MAX_PARAM) {
        return Err(refuse((ErrorCode::InvalidRequest, "acr_values is too long")));
    }
    let requires_second_factor = super::acr::requires_second_factor(raw.acr_values.as_deref(), claims.as_ref());
    Ok(AuthorizationRequest {
        response_mode,
        claim_scopes,
        requires_second_factor,
        client_id: app.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_given: raw.redirect_uri.is_some(),
        scope,
        state,
        nonce,
        code_challenge,
        prompt: prompts,
        max_age,
        login_hint,
        expected_sub,
        claims,
        login_done: false,
        resource,
        ui_locales: raw
            .ui_locales
            .as_deref()
            .and_then(crate::i18n::Lang::first_of)
            .map(|l| l.as_str().to_owned()),
        requested_at: provider.clock.now().unix_timestamp(),
    })
}

fn fatal(message: &str) -> AuthorizeError {
    AuthorizeError::Fatal(message.to_owned())
}

fn requests_openid(raw: &RawAuthorizationRequest) -> bool {
    raw.scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|t| t == "openid"))
}

/// The registered redirect URI `given` matches: exactly, or for public native apps a loopback
/// IP literal on any port (RFC 8252 §7.3).
fn match_redirect_uri(app: &Application, given: &str) -> Option<RedirectUri> {
    if let Some(registered) = app.redirect_uris.iter().find(|r| r.as_str() == given) {
        return Some(registered.clone());
    }
    if !app.is_public() {
        return None;
    }
    let mut url = Url::parse(given).ok()?;
    if url.scheme() != "http" || !matches!(url.host_str(), Some("127.0.0.1" | "[::1]")) {
        return None;
    }
    url.set_port(None).ok()?;
    let registered = app.redirect_uris.iter().any(|r| r.as_url() == &url);
    registered.then(|| RedirectUri::parse(given).ok()).flatten()
}

/// `redirect_uri` with `params` and `iss` (RFC 9207) appended to its query.
pub fn redirect(provider: &Provider, redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        query.append_pair("iss", &provider.issuer);
    }
    url.to_string()
}

/// An error response for the client of `request` (RFC 6749 §4.1.2.1), the way it asked.
pub fn refusal(provider: &Provider, request: &AuthorizationRequest, error: &OAuthError) -> Answer {
    error_answer(
        provider,
        request.redirect_uri.as_str(),
        error.code.as_str(),
        &error.description,
        request.state.as_deref(),
        request.response_mode,
    )
}

fn error_answer(
    provider: &Provider,
    redirect_uri: &str,
    code: &str,
    description: &str,
    state: Option<&str>,
    mode: ResponseMode,
) -> Answer {
    let mut params = vec![("error", code), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    Answer::new(provider, redirect_uri, &params, mode)
}

/// How long a user has to sign in and consent.
pub const PENDING_LIFETIME: time::Duration = time::Duration::minutes(10);

/// A request waiting for the user, bound to the browser that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    pub request: AuthorizationRequest,
    /// SHA-256 of a cookie of the browser that started the flow: the login and consent forms
    /// of a parked request work only in that browser, so nobody can hand a victim a half-done
    /// request to finish.
    pub browser: String,
}

/// Parks a request while the user signs in or consents; returns its id for the forms.
/// `browser` is a value only that browser holds (a cookie).
pub async fn park(provider: &Provider, request: &AuthorizationRequest, browser: &str) -> Result<String, OAuthError> {
    let id = crate::crypto::random_token::<16>();
    let parked = Parked {
        request: request.clone(),
        browser: crate::crypto::digest(browser),
    };
    provider
        .state
        .park_request(&id, &parked, provider.clock.now() + PENDING_LIFETIME)
        .await?;
    Ok(id)
}

/// A parked request and its application, if still there and parked by this `browser`.
pub async fn parked(
    provider: &Provider,
    id: &str,
    browser: Option<&str>,
) -> Result<Option<(AuthorizationRequest, std::sync::Arc<Application>)>, OAuthError> {
    let Some(browser) = browser else { return Ok(None) };
    if id.len() > 64 {
        return Ok(None);
    }
    let Some(parked) = provider.state.parked_request(id).await? else {
        return Ok(None);
    };
    if !crate::crypto::same(&parked.browser, &crate::crypto::digest(browser)) {
        return Ok(None);
    }
    Ok(provider
        .clients
        .application(&parked.request.client_id)
        .await?
        .map(|app| (parked.request, app)))
}

/// Records that the user signed in for the parked request `id` (same browser binding).
pub async fn mark_login_done(
    provider: &Provider,
    id: &str,
    request: &AuthorizationRequest,
    browser: &str,
) -> Result<(), OAuthError> {
    let parked = Parked {
        request: AuthorizationRequest {
            login_done: true,
            ..request.clone()
        },
        browser: crate::crypto::digest(browser),
    };
    provider
        .state
        .park_request(id, &parked, provider.clock.now() + PENDING_LIFETIME)
        .await?;
    Ok(())
}

/// Forgets a parked request once answered.
pub async fn unpark(provider: &Provider, id: &str) -> Result<(), OAuthError> {
    provider.state.unpark_request(id).await?;
    Ok(())
}

/// Issues the code and builds the success redirect (RFC 6749 §4.1.2, RFC 9207).
pub async fn approve(
    provider: &Provider,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<Answer, OAuthError> {
    let code = super::code::issue(provider, request, session).await?;
    // Back-channel logout tells every application the session signed in to (with `openid`: an
    // ID token names the session) when it ends.
    if request.scope.contains("openid") {
        let until = provider.clock.now() + super::session::ABSOLUTE;
        provider
            .state
            .note_session_client(&session.sid, request.client_id.as_str(), until)
            .await?;
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    Ok(Answer::new(
        provider,
        request.redirect_uri.as_str(),
        &params,
        request.response_mode,
    ))
}
