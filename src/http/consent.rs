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
use crate::audit::AuditRecord;
use crate::http::AppState;
use crate::model::application::Application;
use crate::oauth::authorize::{self, AuthorizationRequest, Next};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::security::session::Session;

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    csrf: &'a str,
    req: &'a str,
    app_name: &'a str,
    scopes: Vec<String>,
}

/// What each scope lets the application do, in words. A permission scope (`parcels:read`)
/// says what it does with which kind of record, and that it acts only within what the user
/// may do (DESIGN.md, Token authority: what the scope covers).
fn describe(request: &AuthorizationRequest) -> Vec<String> {
    request
        .consent_scope()
        .iter()
        .map(|s| match s {
            "openid" => "know who you are".to_owned(),
            "profile" => "see your name, username and profile (language, time zone, picture…)".to_owned(),
            "email" => "see your email address".to_owned(),
            "phone" => "see your phone number".to_owned(),
            "address" => "see your postal address".to_owned(),
            "offline_access" => "stay signed in and act for you while you are away".to_owned(),
            other => match crate::model::permission::Permission::parse(other) {
                Ok(p) => describe_permission(&p),
                Err(_) => format!("use the {other:?} scope on this platform"),
            },
        })
        .collect()
}

/// `parcels:read` → "view parcels (as far as you may yourself)".
fn describe_permission(p: &crate::model::permission::Permission) -> String {
    use crate::model::permission::Action;
    let what = p.resource().replace(['_', '-', '.'], " ");
    let verb = match p.action() {
        Action::Create => "create",
        Action::Read => "view",
        Action::Update => "change",
        Action::Delete => "delete",
        Action::All => "view, create, change and delete",
    };
    format!("{verb} {what} for you (only as far as you may yourself)")
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
    headers: &HeaderMap,
    req: &str,
) -> Result<(AuthorizationRequest, Arc<Application>, Session), Response> {
    let browser = browser_cookie(state, headers);
    let Ok(Some((request, app))) = authorize::parked(&state.provider, req, browser.as_deref()).await else {
        return Err(error_page(StatusCode::BAD_REQUEST, EXPIRED));
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

const EXPIRED: &str = "This request has expired. Go back to the application and start again.";

pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ConsentQuery>) -> Response {
    let req = q.req.unwrap_or_default();
    let (request, app, _) = match pending(&state, &headers, &req).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, set) = csrf_token(&state, &headers);
    let consent = ConsentPage {
        csrf: &csrf,
        req: &req,
        app_name: &app.name,
        scopes: describe(&request),
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
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    if !csrf_ok(&state, &headers, form.csrf.as_deref()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form has expired. Reload the page and try again.",
        );
    }
    let provider = &state.provider;
    let req = form.req.unwrap_or_default();
    let (request, app, session) = match pending(&state, &headers, &req).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let fail = |e: OAuthError| to_client(&authorize::refusal(provider, &request, &e), &[]);
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
        Ok(answer) => to_client(&answer, &[]),
        Err(e) => fail(e),
    }
}
