//! `/logout`: OpenID Connect RP-Initiated Logout 1.0. With a valid `id_token_hint` (expired ones
//! count) for the browser's session the user is signed out at once; otherwise a confirmation
//! page asks. Logging out ends the session, blacklists its `sid` (its access tokens go inactive
//! at once) and revokes its refresh-token families. `post_logout_redirect_uri` must be registered
//! for the client named by the hint or `client_id`.

use askama::Template;
use axum::extract::rejection::QueryRejection;

use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{csrf_ok, csrf_token, error_page, message_page, page, redirect, session};
use super::extract::{ClientIp, request_context};
use super::ui::Ui;
use crate::audit::{AuditRecord, RequestContext};
use crate::http::AppState;
use crate::model::application::{Application, ClientId};
use crate::oauth::{authorize, id_token, refresh, revocation};
use crate::security::session as browser_session;

/// No `Debug`: it holds an ID token.
#[derive(Default, Deserialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
    csrf: Option<String>,
    confirm: Option<String>,
}

impl LogoutParams {
    /// The RP-Initiated Logout parameters, to pass on in a URL.
    fn as_query(&self) -> Vec<(&'static str, &str)> {
        let fields = [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
            ("logout_hint", &self.logout_hint),
            ("ui_locales", &self.ui_locales),
        ];
        fields
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    app_name: Option<&'a str>,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
    ui_locales: Option<&'a str>,
}

pub async fn logout_get(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    query: Result<Query<LogoutParams>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(params)) => logout(&state, ui, &request_context(peer, &headers), &headers, params, false).await,
        Err(_) => error_page(&ui, StatusCode::BAD_REQUEST, ui.logout_malformed),
    }
}

pub async fn logout_post(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match serde_urlencoded::from_bytes::<LogoutParams>(&body) {
        Ok(params) => logout(&state, ui, &request_context(peer, &headers), &headers, params, true).await,
        Err(_) => error_page(&ui, StatusCode::BAD_REQUEST, ui.logout_malformed),
    }
}

async fn logout(
    state: &AppState,
    ui: Ui,
    ctx: &RequestContext,
    headers: &HeaderMap,
    params: LogoutParams,
    posted: bool,
) -> Response {
    let provider = &state.provider;
    let ui = &ui.prefer(params.ui_locales.as_deref(), state.clock.now().unix_timestamp());
    let hint = params
        .id_token_hint
        .as_deref()
        .and_then(|h| id_token::hint_claims(provider, h));
    if params.id_token_hint.is_some() && hint.is_none() {
        return error_page(ui, StatusCode::BAD_REQUEST, ui.logout_hint_invalid);
    }
    let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), params.client_id.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return error_page(ui, StatusCode::BAD_REQUEST, ui.logout_client_mismatch);
        }
        (Some(a), _) | (None, Some(a)) => Some(a.to_owned()),
        (None, None) => None,
    };
    let app: Option<std::sync::Arc<Application>> = match client_id.as_deref().map(ClientId::parse) {
        Some(Ok(id)) => match provider.clients.application(&id).await {
            Ok(Some(app)) => Some(app),
            Ok(None) => return error_page(ui, StatusCode::BAD_REQUEST, ui.logout_unknown_client),
            Err(_) => return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.logout_unavailable),
        },
        Some(Err(_)) => return error_page(ui, StatusCode::BAD_REQUEST, ui.logout_unknown_client),
        None => None,
    };
    let post_logout = match (params.post_logout_redirect_uri.as_deref(), &app) {
        (None, _) => None,
        (Some(uri), Some(app)) if app.post_logout_redirect_uris.iter().any(|r| r.as_str() == uri) => {
            Some(uri.to_owned())
        }
        (Some(_), _) => {
            return error_page(ui, StatusCode::BAD_REQUEST, ui.logout_uri_unregistered);
        }
    };
    let current = session(state, headers).await.ok().flatten();
    if posted && current.is_none() && params.confirm.is_none() {
        // A cross-site form POST from the application carries no SameSite=Lax cookie: send the
        // browser back as a top-level GET, which does, so the session really ends.
        return redirect(
            &format!(
                "/logout?{}",
                serde_urlencoded::to_string(params.as_query()).unwrap_or_default()
            ),
            &[],
        );
    }
    // Only an ID token of this very session signs out without asking (RP-Initiated Logout §2).
    let hint_matches = match (&hint, &current) {
        (Some(h), Some((_, s))) => h.sid.as_deref() == Some(s.sid.as_str()),
        _ => false,
    };
    let confirmed =
        posted && params.confirm.as_deref() == Some("yes") && csrf_ok(state, headers, params.csrf.as_deref());
    if current.is_some() && !hint_matches && !confirmed {
        let (csrf, set) = csrf_token(state, headers);
        let confirm = LogoutPage {
            ui,
            csrf: &csrf,
            app_name: app.as_ref().map(|a| a.name.as_str()),
            client_id: client_id.as_deref(),
            post_logout_redirect_uri: post_logout.as_deref(),
            state: params.state.as_deref(),
            ui_locales: params.ui_locales.as_deref(),
        };
        return page(StatusCode::OK, &confirm, set.as_slice());
    }
    let https = state.config.is_https();
    let mut cookies = Vec::new();
    if let Some((cookie, s)) = &current {
        let hot = state.stores.state.as_ref();
        let now = state.clock.now();
        let ended = async {
            revocation::deny_session(hot, &s.sid, now).await?;
            refresh::revoke_session_families(hot, &s.sid, now).await?;
            browser_session::end(hot, cookie, s).await
        }
        .await;
        if ended.is_err() {
            return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.logout_unavailable);
        }
        let record = AuditRecord::logout(now, &s.user_id.to_string(), &s.sid, ctx);
        provider.audit.record_or_log(record).await;
        cookies.push(browser_session::set_cookie(
            browser_session::cookie_name(https),
            "",
            https,
            time::Duration::ZERO,
        ));
    }
    match post_logout {
        Some(uri) => {
            let params: Vec<(&str, &str)> = params.state.as_deref().map(|s| vec![("state", s)]).unwrap_or_default();
            redirect(&authorize::redirect(provider, &uri, &params), &cookies)
        }
        None => message_page(ui, ui.signed_out_title, ui.signed_out, &cookies),
    }
}
