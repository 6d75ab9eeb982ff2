//! `/login`: the sign-in page (username or email, and password). One generic message for every
//! failure; a new session (new id, against fixation) on success; then on with the parked
//! authorization request, if any.

use askama::Template;
use axum::Form;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{MessagePage, browser_cookie, csrf_ok, csrf_token, error_page, page, redirect, session};
use super::extract::request_context;
use crate::app::AppState;
use crate::audit::AuditRecord;
use crate::identity::login::{self, LoginError};
use crate::oauth::authorize::{self, Next, error_redirect};
use crate::oauth::error::OAuthError;
use crate::security::session as browser_session;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    csrf: &'a str,
    req: Option<&'a str>,
    app_name: Option<&'a str>,
    login: &'a str,
    error: Option<&'a str>,
}

type Parked = (
    authorize::AuthorizationRequest,
    std::sync::Arc<crate::identity::application::Application>,
);

/// The parked authorization request a sign-in continues, or the page explaining it is gone.
async fn parked_request(
    provider: &crate::oauth::provider::Provider,
    id: Option<&str>,
    browser: Option<&str>,
) -> Result<Option<Parked>, Response> {
    let Some(id) = id else { return Ok(None) };
    match authorize::parked(provider, id, browser).await {
        Ok(Some(found)) => Ok(Some(found)),
        Ok(None) => Err(error_page(StatusCode::BAD_REQUEST, EXPIRED)),
        Err(_) => Err(error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)),
    }
}

const EXPIRED: &str = "This sign-in request has expired. Go back to the application and start again.";
const UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again shortly.";

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    req: Option<String>,
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let parked = match parked_request(
        &state.provider,
        q.req.as_deref(),
        browser_cookie(&state, &headers).as_deref(),
    )
    .await
    {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let (csrf, set) = csrf_token(&state, &headers);
    let hint = parked
        .as_ref()
        .and_then(|(r, _)| r.login_hint.clone())
        .unwrap_or_default();
    let login_page = LoginPage {
        csrf: &csrf,
        req: q.req.as_deref(),
        app_name: parked.as_ref().map(|(_, a)| a.name.as_str()),
        login: &hint,
        error: None,
    };
    page(StatusCode::OK, &login_page, set.as_slice())
}

/// No `Debug`: it holds the password.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    req: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ctx = request_context(peer, &headers);
    if !csrf_ok(&state, &headers, form.csrf.as_deref()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form has expired. Reload the page and try again.",
        );
    }
    let provider = &state.provider;
    let parked = match parked_request(
        provider,
        form.req.as_deref(),
        browser_cookie(&state, &headers).as_deref(),
    )
    .await
    {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let login = form.login.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let db = state.stores.db.as_ref();
    let user = match login::verify(
        db,
        &state.provider.dummy_hash,
        state.config.bcrypt_cost,
        &login,
        &password,
    )
    .await
    {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            let record = AuditRecord::login_failed(state.clock.now(), &login, "login_page", &ctx);
            provider.metrics.login(false);
            provider.audit.record_or_log(record).await;
            let (csrf, set) = csrf_token(&state, &headers);
            let again = LoginPage {
                csrf: &csrf,
                req: form.req.as_deref(),
                app_name: parked.as_ref().map(|(_, a)| a.name.as_str()),
                login: &login,
                error: Some("Invalid username or password."),
            };
            return page(StatusCode::UNAUTHORIZED, &again, set.as_slice());
        }
        Err(LoginError::Store(_)) => {
            return error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE);
        }
    };
    let now = state.clock.now();
    let hot = state.stores.hot.as_ref();
    if let Ok(Some((old_cookie, old))) = session(&state, &headers).await {
        let _ = browser_session::end(hot, &old_cookie, &old).await;
    }
    let (cookie, new_session) = match browser_session::start(hot, user.id, vec!["pwd".into()], now).await {
        Ok(started) => started,
        Err(_) => {
            return error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE);
        }
    };
    let record = AuditRecord::login_succeeded(now, &user.id.to_string(), user.client_id, "login_page", &ctx);
    provider.metrics.login(true);
    provider.audit.record_or_log(record).await;
    let https = state.config.is_https();
    let set = [browser_session::set_cookie(
        browser_session::cookie_name(https),
        &cookie,
        https,
        browser_session::ABSOLUTE,
    )];
    let Some((mut request, app)) = parked else {
        let done = MessagePage {
            title: "Signed in",
            message: "You are signed in.",
            error: false,
        };
        return page(StatusCode::OK, &done, &set);
    };
    let req_id = form.req.unwrap_or_default();
    // This sign-in satisfies prompt=login for the request, now and at the consent step.
    let browser = browser_cookie(&state, &headers).unwrap_or_default();
    if let Err(e) = authorize::mark_login_done(provider, &req_id, &request, &browser).await {
        return redirect(
            &error_redirect(provider, &request.redirect_uri, &e, request.state.as_deref()),
            &set,
        );
    }
    request.login_done = true;
    let fail = |e: OAuthError| {
        redirect(
            &error_redirect(provider, &request.redirect_uri, &e, request.state.as_deref()),
            &set,
        )
    };
    let consented = if app.first_party {
        None
    } else {
        match db.find_consent(user.id, &app.client_id).await {
            Ok(c) => c,
            Err(e) => return fail(e.into()),
        }
    };
    match authorize::next_step(&request, &app, Some(&new_session), consented.as_ref(), now) {
        Ok(Next::Consent) => redirect(&format!("/consent?req={req_id}"), &set),
        Ok(Next::Issue) => {
            let _ = authorize::unpark(provider, &req_id).await;
            match authorize::approve(provider, &request, &new_session).await {
                Ok(url) => redirect(&url, &set),
                Err(e) => fail(e),
            }
        }
        Ok(Next::Login) => redirect(&format!("/login?req={req_id}"), &set),
        Err(code) => fail(OAuthError::new(
            code,
            "the user must interact with the authorization server",
        )),
    }
}
