//! `/login/2fa`: the second step of a sign-in (see [`crate::security::signin::second_factor`]): a
//! code from the authenticator app, a code sent by email or SMS, or a recovery code — or, when
//! the policy requires a factor the user has not got, the TOTP enrolment (QR code as inline
//! SVG, the key to type, recovery codes) confirmed by its first code.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{browser_cookie, checked_form, cookie, csrf_token, error_page, page};
use super::extract::{ClientIp, request_context};
use super::login::{Completed, complete, parked_request, ui_for};
use super::ui::Ui;
use crate::http::AppState;
use crate::model::mfa::{self, FactorKind};
use crate::model::user::UserStatus;
use crate::security::session as browser_session;
use crate::security::signin::otp::SendError;
use crate::security::signin::second_factor::{self, CodeError, Method, Pending, SendCodeError};

/// What the enrolment shows.
pub struct EnrolView {
    qr_svg: String,
    secret: String,
    codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "login_2fa.html")]
pub struct TwoFactorPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    error: Option<&'a str>,
    enrol: Option<EnrolView>,
    has_totp: bool,
    /// `(method, button label)` of each destination a code can be sent to.
    code_targets: Vec<(&'static str, String)>,
    /// The method a code was just sent by.
    sent: Option<&'a str>,
}

/// The pending sign-in of this browser, with its cookie value, and the page's language (the
/// parked request's `ui_locales` first).
async fn pending(state: &AppState, ui: Ui, headers: &HeaderMap) -> Result<(String, Pending, Ui), Response> {
    let name = second_factor::cookie_name(state.config.is_https());
    let Some(token) = cookie(headers, name) else {
        return Err(error_page(&ui, StatusCode::BAD_REQUEST, ui.signin_gone));
    };
    match second_factor::load(&state.stores.state, &token).await {
        Ok(Some(p)) => {
            let browser = browser_cookie(state, headers);
            let parked = match p.req.as_deref() {
                Some(req) => crate::oauth::authorize::parked(&state.provider, req, browser.as_deref())
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            let ui = ui_for(ui, parked.as_ref(), "/login/2fa", p.req.as_deref());
            Ok((token, p, ui))
        }
        Ok(None) => Err(error_page(&ui, StatusCode::BAD_REQUEST, ui.signin_gone)),
        Err(_) => Err(error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)),
    }
}

/// What the page says besides the methods: its status, an error, the method a code was just
/// sent by.
#[derive(Default)]
struct Shown<'a> {
    status: StatusCode,
    error: Option<&'a str>,
    sent: Option<&'a str>,
}

/// Renders the page for `pending` (starting its enrolment if it must enrol).
async fn render(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    token: &str,
    mut pending: Pending,
    shown: Shown<'_>,
) -> Response {
    let Shown { status, error, sent } = shown;
    let provider = &state.provider;
    if pending.must_enrol
        && pending.enrol.is_none()
        && (second_factor::start_enrolment(provider, &mut pending).await.is_err()
            || second_factor::save(&state.stores.state, token, &pending, state.clock.now())
                .await
                .is_err())
    {
        return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    }
    let Ok(factors) = state.stores.db.list_factors(pending.user_id).await else {
        return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    };
    let enrol = match &pending.enrol {
        Some(enrolment) => {
            let Some(factor) = factors.iter().find(|f| f.id == enrolment.factor) else {
                return error_page(ui, StatusCode::BAD_REQUEST, ui.signin_gone);
            };
            let Ok(secret) = mfa::totp_base32(&provider.seal_key, factor) else {
                return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
            };
            let user = state.stores.db.find_user(pending.user_id).await.ok().flatten();
            let account = user.as_ref().map_or("user", |u| u.username.as_str());
            let issuer = state.config.issuer.host_str().unwrap_or("Propusk");
            Some(EnrolView {
                qr_svg: mfa::qr_svg(&mfa::otpauth_uri(issuer, account, &secret)),
                secret,
                codes: enrolment.codes.clone(),
            })
        }
        None => None,
    };
    let confirmed = factors.iter().filter(|f| f.is_confirmed());
    let code_targets = confirmed
        .clone()
        .filter(|f| matches!(f.kind, FactorKind::Email | FactorKind::Sms))
        .map(|f| {
            let target = f.target.as_deref().map(mfa::mask).unwrap_or_default();
            (f.kind.as_str(), ui.fill(ui.send_code_to, &[("target", &target)]))
        })
        .collect();
    let (csrf, set) = csrf_token(state, headers);
    let view = TwoFactorPage {
        ui,
        csrf: &csrf,
        error,
        enrol,
        has_totp: confirmed.clone().any(|f| f.kind == FactorKind::Totp),
        code_targets,
        sent,
    };
    page(status, &view, set.as_slice())
}

pub async fn show(State(state): State<AppState>, ui: Ui, headers: HeaderMap) -> Response {
    match pending(&state, ui, &headers).await {
        Ok((token, p, ui)) => render(&state, &ui, &headers, &token, p, Shown::default()).await,
        Err(page) => page,
    }
}

/// No `Debug`: it holds a code.
#[derive(Deserialize)]
pub struct CodeForm {
    csrf: Option<String>,
    method: Option<String>,
    code: Option<String>,
}

/// A form POST of this page: the form checks (rate limit, CSRF), then the pending sign-in.
async fn checked_pending(
    state: &AppState,
    ui: Ui,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    form: &CodeForm,
) -> Result<(String, Pending, Ui), Response> {
    checked_form(state, &ui, ip, headers, form.csrf.as_deref()).await?;
    pending(state, ui, headers).await
}

pub async fn submit(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let (token, pending, ui) = match checked_pending(&state, ui, ip, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let ctx = request_context(ip, &headers);
    let provider = &state.provider;
    let Some(method) = form.method.as_deref().and_then(Method::parse) else {
        return error_page(&ui, StatusCode::BAD_REQUEST, ui.choose_method);
    };
    let code = form.code.unwrap_or_default();
    match second_factor::verify(provider, &pending, method, &code, ip, &ctx).await {
        Ok(()) => {}
        Err(CodeError::Invalid) => {
            let sent = matches!(method, Method::Email | Method::Sms).then(|| method.as_str());
            let shown = Shown {
                status: StatusCode::UNAUTHORIZED,
                error: Some(ui.code_invalid),
                sent,
            };
            return render(&state, &ui, &headers, &token, pending, shown).await;
        }
        Err(CodeError::Locked(lock)) => {
            let wait = (lock.until - state.clock.now()).whole_seconds().max(1);
            let message = ui.fill(ui.too_many_codes, &[("wait", &ui.wait(wait))]);
            let mut response = error_page(&ui, StatusCode::TOO_MANY_REQUESTS, &message);
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
        Err(CodeError::Busy) => {
            let mut response = error_page(&ui, StatusCode::TOO_MANY_REQUESTS, ui.code_busy);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
        Err(CodeError::Store(_)) => return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
    let _ = second_factor::finish(&state.stores.state, &token).await;
    let user = match state.stores.db.find_user(pending.user_id).await {
        Ok(Some(user)) if user.status == UserStatus::Active => user,
        Ok(_) => return error_page(&ui, StatusCode::FORBIDDEN, ui.signin_gone),
        Err(_) => return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    };
    let parked = match parked_request(
        provider,
        &ui,
        pending.req.as_deref(),
        browser_cookie(&state, &headers).as_deref(),
    )
    .await
    {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let https = state.config.is_https();
    let clear = browser_session::set_cookie(second_factor::cookie_name(https), "", https, time::Duration::ZERO);
    let done = Completed {
        user: &user,
        amr: method.amr(&pending.first),
        via: if pending.first.iter().any(|m| m == "fed") {
            "federation"
        } else {
            "login_page"
        },
        device: pending.device.clone(),
        req: pending.req.as_deref(),
        cookies: vec![clear],
        known_device: pending.known_device,
        // The second factor was checked just now.
        authenticated_at: None,
    };
    complete(&state, &ui, &headers, &ctx, done, parked).await
}

/// `POST /login/2fa/send`: sends a code by email or SMS, then shows where to type it.
pub async fn send(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let (token, pending, ui) = match checked_pending(&state, ui, ip, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let method = match form.method.as_deref().and_then(Method::parse) {
        Some(m @ (Method::Email | Method::Sms)) => m,
        _ => return error_page(&ui, StatusCode::BAD_REQUEST, ui.choose_destination),
    };
    let (status, error) = match second_factor::send_code(&state.provider, &pending, method).await {
        Ok(()) => (StatusCode::OK, None),
        Err(SendCodeError::Otp(SendError::Cooldown(secs))) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(ui.fill(ui.code_cooldown, &[("wait", &ui.wait(secs))])),
        ),
        Err(SendCodeError::Otp(SendError::Budget { .. })) => {
            (StatusCode::TOO_MANY_REQUESTS, Some(ui.code_budget.to_owned()))
        }
        Err(SendCodeError::NoDestination) => (StatusCode::BAD_REQUEST, Some(ui.code_no_destination.to_owned())),
        Err(e) => {
            tracing::warn!(error = %e, "a sign-in code could not be sent");
            (StatusCode::SERVICE_UNAVAILABLE, Some(ui.code_not_sent.to_owned()))
        }
    };
    let shown = Shown {
        status,
        error: error.as_deref(),
        sent: Some(method.as_str()),
    };
    render(&state, &ui, &headers, &token, pending, shown).await
}
