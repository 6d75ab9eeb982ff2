//! `/consent`: a signed-in user allows or denies an application that is not first-party. An
//! allowed set of scopes is remembered per user and application (`offline_access` too: a
//! consent that names it stands, OpenID Connect Core §11; `prompt=consent` asks again).

use askama::Template;
use axum::Form;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{browser_cookie, csrf_ok, csrf_token, error_page, page, redirect, session, to_client};
use super::extract::{ClientIp, request_context};
use super::ui::Ui;
use crate::audit::AuditRecord;
use crate::http::AppState;
use crate::model::application::Application;
use crate::oauth::authorize::{self, AuthorizationRequest, Next};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::security::session::Session;

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    req: &'a str,
    app_name: &'a str,
    scopes: Vec<String>,
}

/// What each scope lets the application do, in words. A permission scope (`parcels:read`)
/// says what it does with which kind of record, and that it acts only within what the user
/// may do (DESIGN.md, Token authority: what the scope covers).
fn describe(ui: &Ui, request: &AuthorizationRequest) -> Vec<String> {
    request
        .consent_scope()
        .iter()
        .map(|s| match s {
            "openid" => ui.scope_openid.to_owned(),
            "profile" => ui.scope_profile.to_owned(),
            "email" => ui.scope_email.to_owned(),
            "phone" => ui.scope_phone.to_owned(),
            "address" => ui.scope_address.to_owned(),
            "offline_access" => ui.scope_offline_access.to_owned(),
            other => match crate::model::permission::Permission::parse(other) {
                Ok(p) => describe_permission(ui, &p),
                Err(_) => ui.fill(ui.scope_other, &[("scope", other)]),
            },
        })
        .collect()
}

/// `parcels:read` → "view “parcels” for you (only as far as you may yourself)".
fn describe_permission(ui: &Ui, p: &crate::model::permission::Permission) -> String {
    use crate::model::permission::Action;
    let what = p.resource().replace(['_', '-', '.'], " ");
    let verb = match p.action() {
        Action::Create => ui.verb_create,
        Action::Read => ui.verb_read,
        Action::Update => ui.verb_update,
        Action::Delete => ui.verb_delete,
        Action::All => ui.verb_all,
    };
    ui.fill(ui.scope_permission, &[("verb", verb), ("what", &what)])
}

/// True when the request still wants a (fresh) login — `prompt=login`, `max_age`, or an
/// `id_token_hint` for another user — so consent must not short-cut it.
fn needs_login(state: &AppState, request: &AuthorizationRequest, app: &Application, session: &Session) -> bool {
    matches!(
        authorize::next_step(request, app, Some(session), None, state.clock.now()),
        Ok(Next::Login) | Err(_)
    )
}

/// The parked request `req` of this browser, its application and the signed-in session; or the
/// page to show instead (expired request, or a login still needed).
async fn pending(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    req: &str,
) -> Result<(AuthorizationRequest, Arc<Application>, Session), Response> {
    let browser = browser_cookie(state, headers);
    let Ok(Some((request, app))) = authorize::parked(&state.provider, req, browser.as_deref()).await else {
        return Err(error_page(ui, StatusCode::BAD_REQUEST, ui.request_expired));
    };
    let login = || redirect(&format!("/login?req={req}"), &[]);
    let Ok(Some((_, session))) = session(state, headers).await else {
        return Err(login());
    };
    if needs_login(state, &request, &app, &session) {
        return Err(login());
    }
    Ok((request, app, session))
}

#[derive(Debug, Deserialize)]
pub struct ConsentQuery {
    req: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ui: Ui,
    headers: HeaderMap,
    Query(q): Query<ConsentQuery>,
) -> Response {
    let req = q.req.unwrap_or_default();
    let (request, app, _) = match pending(&state, &ui, &headers, &req).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let ui = ui.prefer_request(&request);
    let (csrf, set) = csrf_token(&state, &headers);
    let consent = ConsentPage {
        ui: &ui,
        csrf: &csrf,
        req: &req,
        app_name: &app.name,
        scopes: describe(&ui, &request),
    };
    page(StatusCode::OK, &consent, set.as_slice())
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    csrf: Option<String>,
    req: Option<String>,
    decision: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    if !csrf_ok(&state, &headers, form.csrf.as_deref()) {
        return error_page(&ui, StatusCode::FORBIDDEN, ui.form_expired);
    }
    let provider = &state.provider;
    let req = form.req.unwrap_or_default();
    let (request, app, session) = match pending(&state, &ui, &headers, &req).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let ui = &ui.prefer_request(&request).at(format!("/consent?req={req}"));
    let fail = |e: OAuthError| to_client(ui, &authorize::refusal(provider, &request, &e), &[]);
    let _ = authorize::unpark(provider, &req).await;
    if form.decision.as_deref() != Some("allow") {
        let ctx = request_context(peer, &headers);
        let record = AuditRecord::consent_denied(
            state.clock.now(),
            &session.user_id.to_string(),
            app.client_id.as_str(),
            &ctx,
        );
        provider.audit.record_or_log(record).await;
        return fail(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"));
    }
    let scope = request.consent_scope();
    if let Err(e) = state
        .stores
        .db
        .save_consent(session.user_id, &app.client_id, &scope, state.clock.now())
        .await
    {
        return fail(e.into());
    }
    match authorize::approve(provider, &request, &session).await {
        Ok(answer) => to_client(ui, &answer, &[]),
        Err(e) => fail(e),
    }
}
