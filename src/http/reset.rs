//! `/login/reset`: ask for a reset link; `/login/reset/confirm`: choose a new password (see
//! [`crate::security::reset`]).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{MessagePage, checked_form, csrf_token, error_page, page};
use super::extract::{ClientIp, request_context};
use super::login::UNAVAILABLE;
use crate::http::AppState;
use crate::security::reset::{self, ResetError};

const GONE: &str = "This reset link is invalid, used or expired. Ask for a new one.";

#[derive(Template)]
#[template(path = "reset_request.html")]
struct RequestPage<'a> {
    csrf: &'a str,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    token: &'a str,
    error: Option<&'a str>,
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, set) = csrf_token(&state, &headers);
    page(
        StatusCode::OK,
        &RequestPage {
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
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, ip, &headers, form.csrf.as_deref()).await {
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

pub async fn show_confirm(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<TokenQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    match reset::peek(&state.provider, &token).await {
        Ok(Some(_)) => {
            let (csrf, set) = csrf_token(&state, &headers);
            let view = ConfirmPage {
                csrf: &csrf,
                token: &token,
                error: None,
            };
            page(StatusCode::OK, &view, set.as_slice())
        }
        Ok(None) => error_page(StatusCode::BAD_REQUEST, GONE),
        Err(_) => error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
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
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, ip, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let ctx = request_context(ip, &headers);
    let token = form.token.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    match reset::complete(&state.provider, &token, &password, &ctx).await {
        Ok(_) => {
            let done = MessagePage {
                title: "Password changed",
                message: "Your password is changed and you are signed out everywhere. Sign in with the new password.",
                error: false,
            };
            page(StatusCode::OK, &done, &[])
        }
        Err(ResetError::Weak(e)) => {
            let (csrf, set) = csrf_token(&state, &headers);
            let message = format!("The new password {e}.");
            let view = ConfirmPage {
                csrf: &csrf,
                token: &token,
                error: Some(&message),
            };
            page(StatusCode::BAD_REQUEST, &view, set.as_slice())
        }
        Err(ResetError::Gone) => error_page(StatusCode::BAD_REQUEST, GONE),
        Err(e) => {
            tracing::warn!(error = %e, "a password reset failed");
            error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
        }
    }
}
