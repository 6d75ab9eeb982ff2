//! `GET`/`POST /authorize` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1). Errors that cannot be
//! trusted to a redirect (unknown client, unregistered redirect URI, malformed request) get an
//! error page; everything else goes back to the client, with `iss` (RFC 9207).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::browser::{browser_binding, error_page, limit_form, redirect, session, to_client};
use super::extract::ClientIp;
use super::ui::Ui;
use crate::http::AppState;
use crate::oauth::authorize::{self, AuthorizeError, Next, RawAuthorizationRequest};
use crate::oauth::error::OAuthError;

pub async fn authorize_get(
    State(state): State<AppState>,
    ui: Ui,
    headers: HeaderMap,
    query: Result<Query<RawAuthorizationRequest>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(raw)) => authorize(&state, ui, &headers, raw).await,
        Err(_) => error_page(&ui, StatusCode::BAD_REQUEST, ui.authorize_malformed),
    }
}

pub async fn authorize_post(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    // A posted request has no address to come back to after a language switch.
    let ui = ui.without_switch();
    if let Err(limited) = limit_form(&state, &ui, ip).await {
        return limited;
    }
    match serde_urlencoded::from_bytes::<RawAuthorizationRequest>(&body) {
        Ok(raw) => authorize(&state, ui, &headers, raw).await,
        Err(_) => error_page(&ui, StatusCode::BAD_REQUEST, ui.authorize_malformed),
    }
}

#[tracing::instrument(skip_all, fields(client.id = raw.client_id.as_deref().unwrap_or("-")))]
async fn authorize(state: &AppState, ui: Ui, headers: &HeaderMap, raw: RawAuthorizationRequest) -> Response {
    let provider = &state.provider;
    let ui = &ui.prefer(raw.ui_locales.as_deref(), state.clock.now().unix_timestamp());
    let (request, app) = match authorize::validate(provider, &raw).await {
        Ok(ok) => ok,
        Err(AuthorizeError::Fatal(message)) => {
            let message = ui.fill(ui.authorize_refused, &[("detail", &message)]);
            return error_page(ui, StatusCode::BAD_REQUEST, &message);
        }
        Err(AuthorizeError::Redirect(answer)) => return to_client(ui, &answer, &[]),
    };
    let fail = |e: OAuthError| to_client(ui, &authorize::refusal(provider, &request, &e), &[]);
    let session = match session(state, headers).await {
        Ok(s) => s.map(|(_, s)| s),
        Err(e) => return fail(e.into()),
    };
    // A session signed in with a password alone does not carry a user who now needs a second
    // factor (their role or account began requiring one, or they enrolled since): sign in again.
    let session = match session {
        Some(s) if !s.amr.iter().any(|m| m == "mfa") => match state.stores.db.find_user(s.user_id).await {
            Ok(Some(user)) => match crate::security::signin::second_factor::need(provider, &user).await {
                Ok(crate::security::signin::second_factor::Need::Nothing) => Some(s),
                Ok(_) => None,
                Err(e) => return fail(e.into()),
            },
            Ok(None) => None,
            Err(e) => return fail(e.into()),
        },
        other => other,
    };
    let consented = match (&session, app.first_party) {
        (Some(s), false) => match state.stores.db.find_consent(s.user_id, &app.client_id).await {
            Ok(c) => c,
            Err(e) => return fail(e.into()),
        },
        _ => None,
    };
    let now = state.clock.now();
    match authorize::next_step(&request, &app, session.as_ref(), consented.as_ref(), now) {
        Err(code) => fail(OAuthError::new(
            code,
            "the user must interact with the authorization server",
        )),
        Ok(Next::Issue) => {
            // next_step issues only for a signed-in browser.
            let Some(session) = session.as_ref() else {
                return fail(OAuthError::server_error());
            };
            match authorize::approve(provider, &request, session).await {
                Ok(answer) => to_client(ui, &answer, &[]),
                Err(e) => fail(e),
            }
        }
        Ok(step) => {
            let (browser, set) = browser_binding(state, headers);
            match authorize::park(provider, &request, &browser).await {
                Ok(id) => {
                    let page = if step == Next::Login { "/login" } else { "/consent" };
                    redirect(&format!("{page}?req={id}"), set.as_slice())
                }
                Err(e) => fail(e),
            }
        }
    }
}
