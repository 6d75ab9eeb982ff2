//! What the HTML pages share: cookies, CSRF tokens, the browser session, security headers.

use askama::Template;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use time::Duration;

use super::ui::Ui;
use crate::http::AppState;
use crate::oauth::authorize::{Answer, ResponseMode};
use crate::security::csrf;
use crate::security::ratelimit::{self, Bucket};
use crate::security::session::{self, Session};

/// The value of cookie `name`, if the browser sent it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && !v.is_empty() && v.len() <= 128).then(|| v.to_owned())
        })
}

/// The browser's session, with its cookie value, if it has a live one.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, crate::store::StoreError> {
    let name = session::cookie_name(state.config.is_https());
    let Some(value) = cookie(headers, name) else {
        return Ok(None);
    };
    let found = session::load(state.stores.state.as_ref(), &value, state.clock.now()).await?;
    Ok(found.map(|s| (value, s)))
}

/// A CSRF token for a form, and the cookie to set when the browser has none yet.
pub fn csrf_token(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    let (value, set) = browser_binding(state, headers);
    (csrf::token_for(&state.csrf_key, &value), set)
}

/// The browser's CSRF cookie value, which also binds parked authorization requests to it; a new
/// one (with the cookie to set) when the browser has none yet.
pub fn browser_binding(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    let https = state.config.is_https();
    let name = session::csrf_cookie_name(https);
    match cookie(headers, name) {
        Some(value) => (value, None),
        None => {
            let value = crate::crypto::random_token::<16>();
            let set = session::set_cookie(name, &value, https, Duration::days(1));
            (value, Some(set))
        }
    }
}

/// The browser's verified known-device id (the cookie a sign-in leaves), if it has one.
pub fn device_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let cookie = cookie(
        headers,
        crate::security::signin::device::cookie_name(state.config.is_https()),
    )?;
    crate::security::signin::device::verify(&state.provider.device_key, &cookie)
}

/// The browser's binding cookie, if it has one.
pub fn browser_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    cookie(headers, session::csrf_cookie_name(state.config.is_https()))
}

/// True when the form's CSRF token matches the browser's CSRF cookie.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> bool {
    let name = session::csrf_cookie_name(state.config.is_https());
    csrf::verify(&state.csrf_key, cookie(headers, name).as_deref(), token)
}

/// Headers every HTML page carries: no framing, no inline script or style, no referrer, no caching.
fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Renders a page with `status`, setting `cookies`.
pub fn page(status: StatusCode, template: &impl Template, cookies: &[String]) -> Response {
    let mut response = match template.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    add_cookies(&mut response, cookies);
    harden(&mut response);
    response
}

/// The form_post page: its only script is the page's own file, which the page's CSP allows.
#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    ui: &'a Ui,
    action: &'a str,
    fields: &'a [(String, String)],
}

/// An answer for the client at its redirect URI, setting `cookies`: a 303 redirect with the
/// parameters in the query, or (`form_post`) a page whose form the browser posts there.
pub fn to_client(ui: &Ui, answer: &Answer, cookies: &[String]) -> Response {
    match answer.mode {
        ResponseMode::Query => redirect(&answer.url(), cookies),
        ResponseMode::FormPost => {
            let ui = &ui.clone().without_switch();
            let template = FormPostPage {
                ui,
                action: &answer.redirect_uri,
                fields: &answer.params,
            };
            let mut response = page(StatusCode::OK, &template, cookies);
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            response
        }
    }
}

/// The script of the form_post page.
pub async fn form_post_script() -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/form_post.js"),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// A 303 redirect (after a form POST the browser must GET the target), setting `cookies`.
pub fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(to).into_response();
    add_cookies(&mut response, cookies);
    harden(&mut response);
    response
}

fn add_cookies(response: &mut Response, cookies: &[String]) {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// A page with a title and one message.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub ui: &'a Ui,
    pub title: &'a str,
    pub message: &'a str,
    pub error: bool,
    /// A link to go on with: `(href, label)`.
    pub link: Option<(&'a str, &'a str)>,
}

/// An error page (for when a redirect to the client is not safe).
pub fn error_page(ui: &Ui, status: StatusCode, message: &str) -> Response {
    page(
        status,
        &MessagePage {
            ui,
            title: ui.something_wrong,
            message,
            error: true,
            link: None,
        },
        &[],
    )
}

/// A page saying `message` under `title`.
pub fn message_page(ui: &Ui, title: &str, message: &str, cookies: &[String]) -> Response {
    let view = MessagePage {
        ui,
        title,
        message,
        error: false,
        link: None,
    };
    page(StatusCode::OK, &view, cookies)
}

/// Counts a form submission against the client address's sign-in budget
/// (`PROPUSK_RATE_LIMIT_LOGIN`); the 429 page when it is spent.
pub async fn limit_form(state: &AppState, ui: &Ui, ip: std::net::IpAddr) -> Result<(), Response> {
    limit_form_json(state, ip).await.map_err(|limited| {
        let wait = limited.retry_after_secs();
        let message = ui.fill(ui.too_many_from_network, &[("wait", &ui.wait(wait))]);
        let mut response = error_page(ui, StatusCode::TOO_MANY_REQUESTS, &message);
        response.headers_mut().extend(limited.headers());
        response
    })
}

/// The checks every form POST passes first: the client address's budget, then the CSRF token.
pub async fn checked_form(
    state: &AppState,
    ui: &Ui,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), Response> {
    limit_form(state, ui, ip).await?;
    if !csrf_ok(state, headers, csrf) {
        return Err(error_page(ui, StatusCode::FORBIDDEN, ui.form_expired));
    }
    Ok(())
}

/// [`limit_form`] for JSON callers: the sign-in budget of the client address.
pub async fn limit_form_json(state: &AppState, ip: std::net::IpAddr) -> Result<(), ratelimit::Limited> {
    let bucket = state.provider.limits.login.map(|rate| Bucket::ip("login", ip, rate));
    ratelimit::check_one(state.provider.state.as_ref(), bucket).await
}

/// Counts a one-time-code check against the client address's budget (the sign-in rate).
pub async fn limit_code(state: &AppState, ip: std::net::IpAddr) -> Result<(), ratelimit::Limited> {
    let bucket = state.provider.limits.login.map(|rate| Bucket::ip("code", ip, rate));
    ratelimit::check_one(state.provider.state.as_ref(), bucket).await
}

/// The stylesheet of the pages.
pub async fn stylesheet() -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/propusk.css"),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
