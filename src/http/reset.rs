//! `/login/reset`: ask for a reset link; `/login/reset/confirm`: choose a new password (see
//! [`crate::security::reset`]).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{checked_form, csrf_token, error_page, message_page, page};
use super::extract::{ClientIp, request_context};
use super::ui::Ui;
use crate::http::AppState;
use crate::model::password::{self, Weakness};
use crate::security::reset::{self, ResetError};

#[derive(Template)]
#[template(path = "reset_request.html")]
struct RequestPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ConfirmPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    token: &'a str,
    error: Option<&'a str>,
    password_label: &'a str,
    min: usize,
}

impl<'a> ConfirmPage<'a> {
    fn new(ui: &'a Ui, csrf: &'a str, token: &'a str, error: Option<&'a str>, label: &'a str) -> Self {
        Self {
            ui,
            csrf,
            token,
            error,
            password_label: label,
            min: password::MIN_CHARS,
        }
    }
}

/// The words for a weak new password.
pub(super) fn weakness(ui: &Ui, w: Weakness) -> String {
    let (min, max) = (password::MIN_CHARS.to_string(), password::MAX_BYTES.to_string());
    let values = [("min", min.as_str()), ("max", max.as_str())];
    let text = match w {
        Weakness::TooLong => ui.weak_too_long,
        Weakness::TooShort => ui.weak_too_short,
        Weakness::Blank => ui.weak_blank,
        Weakness::Personal => ui.weak_personal,
        Weakness::Common => ui.weak_common,
    };
    ui.fill(text, &values)
}

pub async fn show(State(state): State<AppState>, ui: Ui, headers: HeaderMap) -> Response {
    let (csrf, set) = csrf_token(&state, &headers);
    page(
        StatusCode::OK,
        &RequestPage {
            ui: &ui,
            csrf: &csrf,
            sent: false,
        },
        set.as_slice(),
    )
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    csrf: Option<String>,
    login: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, &ui, ip, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let ctx = request_context(ip, &headers);
    let login = form.login.unwrap_or_default();
    let https = state.config.is_https();
    let device = super::browser::cookie(&headers, crate::security::signin::device::cookie_name(https))
        .and_then(|c| crate::security::signin::device::verify(&state.provider.device_key, &c));
    let from = reset::Source { ip, device };
    // In the background: the answer, and its timing, is the same whether the account exists.
    let provider = state.provider.clone();
    tokio::spawn(async move {
        if let Err(e) = reset::request(&provider, &login, from, &ctx).await {
            tracing::warn!(error = %e, "a password reset could not be started");
        }
    });
    let (csrf, set) = csrf_token(&state, &headers);
    page(
        StatusCode::OK,
        &RequestPage {
            ui: &ui,
            csrf: &csrf,
            sent: true,
        },
        set.as_slice(),
    )
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn show_confirm(
    State(state): State<AppState>,
    ui: Ui,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    match reset::peek(&state.provider, &token).await {
        Ok(Some(_)) => {
            let (csrf, set) = csrf_token(&state, &headers);
            let label = ui.fill(ui.new_password_label, &[("min", &password::MIN_CHARS.to_string())]);
            let view = ConfirmPage::new(&ui, &csrf, &token, None, &label);
            page(StatusCode::OK, &view, set.as_slice())
        }
        Ok(None) => error_page(&ui, StatusCode::BAD_REQUEST, ui.reset_gone),
        Err(_) => error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

/// No `Debug`: it holds the token and the password.
#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    token: Option<String>,
    password: Option<String>,
}

pub async fn submit_confirm(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, &ui, ip, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let ctx = request_context(ip, &headers);
    let token = form.token.unwrap_or_default();
    let ui = ui.at(format!(
        "/login/reset/confirm?token={}",
        percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC)
    ));
    let password = form.password.unwrap_or_default();
    match reset::complete(&state.provider, &token, &password, &ctx).await {
        Ok(_) => message_page(&ui, ui.password_changed_title, ui.password_changed, &[]),
        Err(ResetError::Weak(w)) => {
            let (csrf, set) = csrf_token(&state, &headers);
            let message = weakness(&ui, w);
            let label = ui.fill(ui.new_password_label, &[("min", &password::MIN_CHARS.to_string())]);
            let view = ConfirmPage::new(&ui, &csrf, &token, Some(&message), &label);
            page(StatusCode::BAD_REQUEST, &view, set.as_slice())
        }
        Err(ResetError::Gone) => error_page(&ui, StatusCode::BAD_REQUEST, ui.reset_gone),
        Err(e) => {
            tracing::warn!(error = %e, "a password reset failed");
            error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)
        }
    }
}
