//! `/login`: the sign-in page (username or email, and password). One generic message for every
//! failure; a new session (new id, against fixation) on success; then on with the parked
//! authorization request, if any.

use askama::Template;
use axum::Form;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{
    MessagePage, browser_cookie, checked_form, cookie, csrf_token, error_page, page, redirect, session, to_client,
};
use super::extract::{ClientIp, request_context};
use super::federation::go_upstream;
use super::ui::Ui;
use crate::federation;
use crate::http::AppState;
use crate::oauth::authorize::{self, Next};
use crate::oauth::error::OAuthError;
use crate::security::session as browser_session;
use crate::security::signin::device;
use crate::security::signin::second_factor::{self, Need, Pending};
use crate::security::signin::{self, Origins, SignInError};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    req: Option<&'a str>,
    app_name: Option<&'a str>,
    login: &'a str,
    error: Option<&'a str>,
    /// Offer "Sign in with your company" (some identity provider is enabled).
    sso: bool,
}

/// Every identity provider (for home-realm discovery); none when the store cannot say, so
/// password sign-in still works.
async fn identity_providers(state: &AppState) -> Vec<crate::model::idp::IdentityProvider> {
    state.stores.db.list_idps(None).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "identity providers could not be read");
        Vec::new()
    })
}

pub(super) type Parked = (
    authorize::AuthorizationRequest,
    std::sync::Arc<crate::model::application::Application>,
);

/// The parked authorization request a sign-in continues, or the page explaining it is gone.
pub(super) async fn parked_request(
    provider: &crate::security::Services,
    ui: &Ui,
    id: Option<&str>,
    browser: Option<&str>,
) -> Result<Option<Parked>, Response> {
    let Some(id) = id else { return Ok(None) };
    match authorize::parked(provider, id, browser).await {
        Ok(Some(found)) => Ok(Some(found)),
        Ok(None) => Err(error_page(ui, StatusCode::BAD_REQUEST, ui.request_expired)),
        Err(_) => Err(error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)),
    }
}

/// The page's language, preferring the parked request's `ui_locales`; the switch comes back to
/// `page` of the request (`/login`, `/login/2fa`) when it is a form's answer.
pub(super) fn ui_for(ui: Ui, parked: Option<&Parked>, page: &str, req: Option<&str>) -> Ui {
    let ui = match parked {
        Some((r, _)) => ui.prefer_request(r),
        None => ui,
    };
    match req {
        Some(req) => ui.at(format!(
            "{page}?req={}",
            percent_encoding::utf8_percent_encode(req, percent_encoding::NON_ALPHANUMERIC)
        )),
        None => ui,
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    req: Option<String>,
}

pub async fn show(State(state): State<AppState>, ui: Ui, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let parked = match parked_request(
        &state.provider,
        &ui,
        q.req.as_deref(),
        browser_cookie(&state, &headers).as_deref(),
    )
    .await
    {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let ui = ui_for(ui, parked.as_ref(), "/login", None);
    let hint = parked
        .as_ref()
        .and_then(|(r, _)| r.login_hint.clone())
        .unwrap_or_default();
    let idps = identity_providers(&state).await;
    // Home-realm discovery: an application that names the user's work email sends them
    // straight to their company's identity provider.
    if let Some(idp) = federation::for_email(&idps, &hint) {
        return go_upstream(
            &state,
            &ui,
            &headers,
            idp,
            q.req.as_deref(),
            Some(&hint),
            parked.as_ref(),
        )
        .await;
    }
    let (csrf, set) = csrf_token(&state, &headers);
    let login_page = LoginPage {
        ui: &ui,
        csrf: &csrf,
        req: q.req.as_deref(),
        app_name: parked.as_ref().map(|(_, a)| a.name.as_str()),
        login: &hint,
        error: None,
        sso: idps.iter().any(|i| i.enabled),
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
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, &ui, peer, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let ctx = request_context(peer, &headers);
    let provider = &state.provider;
    let parked = match parked_request(
        provider,
        &ui,
        form.req.as_deref(),
        browser_cookie(&state, &headers).as_deref(),
    )
    .await
    {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let ui = ui_for(ui, parked.as_ref(), "/login", form.req.as_deref());
    let login = form.login.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let idps = identity_providers(&state).await;
    // Home-realm discovery: a work email whose domain has an identity provider goes there (the
    // password, if typed, is not looked at).
    if let Some(idp) = federation::for_email(&idps, &login) {
        return go_upstream(
            &state,
            &ui,
            &headers,
            idp,
            form.req.as_deref(),
            Some(login.trim()),
            parked.as_ref(),
        )
        .await;
    }
    let https = state.config.is_https();
    let device = cookie(&headers, device::cookie_name(https)).and_then(|c| device::verify(&provider.device_key, &c));
    let from = Origins {
        ip: peer,
        device: device.as_deref(),
        via: "login_page",
        ctx: &ctx,
    };
    let again = |error: &str, status: StatusCode| {
        let (csrf, set) = csrf_token(&state, &headers);
        let again = LoginPage {
            ui: &ui,
            csrf: &csrf,
            req: form.req.as_deref(),
            app_name: parked.as_ref().map(|(_, a)| a.name.as_str()),
            login: &login,
            error: Some(error),
            sso: idps.iter().any(|i| i.enabled),
        };
        page(status, &again, set.as_slice())
    };
    let signed_in = match signin::password(provider, &login, &password, from).await {
        Ok(signed_in) => signed_in,
        Err(SignInError::Invalid) => return again(ui.invalid_credentials, StatusCode::UNAUTHORIZED),
        Err(SignInError::Locked(lock)) => {
            let wait = (lock.until - state.clock.now()).whole_seconds().max(1);
            let message = ui.fill(ui.too_many_failed, &[("wait", &ui.wait(wait))]);
            let mut response = again(&message, StatusCode::TOO_MANY_REQUESTS);
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
        Err(SignInError::Busy) => {
            let mut response = again(ui.signin_busy, StatusCode::TOO_MANY_REQUESTS);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        Err(SignInError::Store(_)) => {
            return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
        }
    };
    let user = signed_in.user;
    // A request that accepts only a second factor gets one when the user has one; a factor
    // enrolled within this very sign-in would prove nothing beyond the password, so a user
    // without one gets `unmet_authentication_requirements` after the sign-in instead.
    match second_factor::need(provider, &user).await {
        Ok(Need::Nothing) => {}
        Ok(need) => {
            let pending = Pending {
                user_id: user.id,
                device,
                known_device: signed_in.known_device,
                req: form.req.clone(),
                enrol: None,
                must_enrol: need == Need::Enrol,
                created_at: state.clock.now().unix_timestamp(),
                id: crate::crypto::random_token::<16>(),
                first: vec!["pwd".into()],
            };
            return second_step(&state, &ui, &pending).await;
        }
        Err(_) => return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
    let done = Completed {
        user: &user,
        amr: vec!["pwd".into()],
        via: "login_page",
        device,
        req: form.req.as_deref(),
        cookies: Vec::new(),
        known_device: signed_in.known_device,
        authenticated_at: None,
    };
    complete(&state, &ui, &headers, &ctx, done, parked).await
}

/// Parks a sign-in that needs its second factor and sends the browser to `/login/2fa`.
pub(super) async fn second_step(state: &AppState, ui: &Ui, pending: &Pending) -> Response {
    let https = state.config.is_https();
    match second_factor::park(&state.stores.state, pending, state.clock.now()).await {
        Ok(token) => {
            let set = [browser_session::set_cookie(
                second_factor::cookie_name(https),
                &token,
                https,
                second_factor::PENDING_LIFETIME,
            )];
            redirect("/login/2fa", &set)
        }
        Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

/// A sign-in whose every step succeeded.
pub(super) struct Completed<'a> {
    pub user: &'a crate::model::user::User,
    /// RFC 8176 methods: `pwd`, then `otp`, `mfa` after a second factor.
    pub amr: Vec<String>,
    /// How the user signed in, for the audit trail: `login_page` or `federation`.
    pub via: &'a str,
    /// The browser's verified known-device id, if it had one.
    pub device: Option<String>,
    /// The parked authorization request id, if any.
    pub req: Option<&'a str>,
    /// Cookies to set besides the session's.
    pub cookies: Vec<String>,
    /// The browser was a known device of this user.
    pub known_device: bool,
    /// When the user authenticated (unix seconds), if earlier than now: an upstream IdP's
    /// `auth_time`, so an old upstream session replayed silently is not fresh proof here.
    pub authenticated_at: Option<i64>,
}

/// Finishes a sign-in ([`signin::finish`]: device, a fresh session, audit), sets its cookies and
/// continues the parked authorization request (consent, or the code).
pub(super) async fn complete(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    ctx: &crate::audit::RequestContext,
    done: Completed<'_>,
    parked: Option<Parked>,
) -> Response {
    let provider = &state.provider;
    let db = state.stores.db.as_ref();
    let https = state.config.is_https();
    let now = state.clock.now();
    let mut set = done.cookies;
    let success = signin::Success {
        user: done.user,
        amr: done.amr,
        via: done.via,
        device: done.device,
        known_device: done.known_device,
        authenticated_at: done.authenticated_at,
    };
    let previous = session(state, headers).await.ok().flatten();
    let finished = match signin::finish(provider, success, previous, ctx).await {
        Ok(finished) => finished,
        Err(signin::FinishError::NotStanding) => {
            return error_page(ui, StatusCode::FORBIDDEN, ui.cannot_sign_in);
        }
        Err(signin::FinishError::Store(_)) => return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    };
    let user = done.user;
    let new_session = finished.session;
    if let Some(value) = &finished.device_cookie {
        set.push(browser_session::set_cookie(
            device::cookie_name(https),
            value,
            https,
            device::REMEMBER,
        ));
    }
    set.push(browser_session::set_cookie(
        browser_session::cookie_name(https),
        &finished.cookie,
        https,
        browser_session::ABSOLUTE,
    ));
    let Some((mut request, app)) = parked else {
        let view = MessagePage {
            ui,
            title: ui.signed_in_title,
            message: ui.signed_in,
            error: false,
            link: Some(("/account", ui.account_title)),
        };
        return page(StatusCode::OK, &view, &set);
    };
    let req_id = done.req.unwrap_or_default().to_owned();
    // This sign-in satisfies prompt=login for the request, now and at the consent step.
    let browser = browser_cookie(state, headers).unwrap_or_default();
    if let Err(e) = authorize::mark_login_done(provider, &req_id, &request, &browser).await {
        return to_client(ui, &authorize::refusal(provider, &request, &e), &set);
    }
    request.login_done = true;
    let fail = |e: OAuthError| to_client(ui, &authorize::refusal(provider, &request, &e), &set);
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
                Ok(answer) => to_client(ui, &answer, &set),
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
