//! Corporate SSO pages: `POST /login/sso` ("Sign in with your company": a work email or the
//! company's account id) and `GET /federation/callback`, where every upstream identity provider
//! sends the browser back. Home-realm discovery from the login form lives in [`super::login`].

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{browser_binding, browser_cookie, checked_form, error_page, limit_form, page, redirect};
use super::extract::{ClientIp, request_context};
use super::login::{Completed, complete, parked_request, second_step, ui_for};
use super::ui::Ui;
use crate::audit::{AuditRecord, RequestContext};
use crate::federation::flow::{self, Callback, FederationError, Freshness};
use crate::federation::provision::{self, ProvisionError};
use crate::federation::{self as federation_core, mapping};
use crate::http::AppState;
use crate::model::idp::IdentityProvider;
use crate::outbound::UpstreamError;
use crate::security::signin::second_factor::{self, Need, Pending};
use crate::telemetry::metrics::Federated;

/// The error page of a federated sign-in, with the way back to the login page.
#[derive(Template)]
#[template(path = "federation_error.html")]
pub struct FederationErrorPage<'a> {
    ui: &'a Ui,
    message: &'a str,
    retry: &'a str,
}

fn failure(ui: &Ui, status: StatusCode, message: &str, req: Option<&str>) -> Response {
    let retry = match req {
        Some(req) => format!(
            "/login?req={}",
            percent_encoding::utf8_percent_encode(req, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "/login".to_owned(),
    };
    let view = FederationErrorPage {
        ui,
        message,
        retry: &retry,
    };
    page(status, &view, &[])
}

/// Sends the browser to `idp` to sign in (for the parked request `req`, if any).
pub(super) async fn go_upstream(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    idp: &IdentityProvider,
    req: Option<&str>,
    login_hint: Option<&str>,
    parked: Option<&super::login::Parked>,
) -> Response {
    let (binding, set) = browser_binding(state, headers);
    let fresh = parked.map_or_else(Freshness::default, |(r, _)| Freshness {
        login: r.prompt.login,
        max_age: r.max_age,
    });
    match flow::start(&state.provider, idp, &binding, req, login_hint, fresh).await {
        Ok(url) => redirect(&url, set.as_slice()),
        Err(e) => {
            tracing::warn!(idp = %idp.id, error = %e, "a federated sign-in could not start");
            let (status, message) = explain(ui, &e);
            failure(ui, status, message, req)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SsoForm {
    csrf: Option<String>,
    req: Option<String>,
    /// A work email (its domain picks the provider) or the company's account id (slug).
    company: Option<String>,
}

/// `POST /login/sso`.
/// The upstream's `auth_time`, when it says one (OpenID Connect Core §2).
fn upstream_auth_time(claims: &serde_json::Map<String, serde_json::Value>) -> Option<i64> {
    let value = claims.get("auth_time")?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

pub async fn start(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SsoForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, &ui, peer, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let provider = &state.provider;
    let req = form.req.as_deref();
    let parked = match parked_request(provider, &ui, req, browser_cookie(&state, &headers).as_deref()).await {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let ui = &ui_for(ui, parked.as_ref(), "/login", req);
    let typed = form.company.unwrap_or_default();
    let typed = typed.trim();
    match federation_core::provider_for(provider, typed).await {
        Ok(Some(idp)) => {
            let hint = typed.contains('@').then_some(typed);
            go_upstream(&state, ui, &headers, &idp, req, hint, parked.as_ref()).await
        }
        Ok(None) => failure(ui, StatusCode::NOT_FOUND, ui.fed_no_company, req),
        Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

/// `GET /federation/callback`.
pub async fn callback(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let provider = &state.provider;
    let ctx = request_context(peer, &headers);
    let callback = query.map(|Query(q)| q).unwrap_or_default();
    let browser = browser_cookie(&state, &headers);
    let verified = match flow::finish(provider, &callback, browser.as_deref()).await {
        Ok(verified) => verified,
        Err(flow::Failed { error: e, req }) => {
            // Failed answers count against the address's sign-in budget (a completed sign-in
            // was counted when it started): a flood of forged callbacks is cut off.
            if let Err(limited) = limit_form(&state, &ui, peer).await {
                return limited;
            }
            tracing::warn!(error = %e, "a federated sign-in failed");
            let (status, message) = explain(&ui, &e);
            // An unknown state is noise anyone can send: logged, not audited.
            if !matches!(e, FederationError::Expired) {
                refused(&state, &ctx, None, &e.to_string(), status).await;
            }
            return failure(&ui, status, message, req.as_deref());
        }
    };
    let req = verified.req.as_deref();
    let idp = &verified.idp;
    let profile = mapping::profile(idp, &verified.claims);
    let (user, _) = match provision::user_for(provider, idp, &verified.issuer, &profile, &ctx).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(idp = %idp.id, error = %e, "a federated user may not sign in");
            let (status, message) = explain_provision(&ui, &e);
            refused(&state, &ctx, Some(idp), &e.to_string(), status).await;
            return failure(&ui, status, message, req);
        }
    };
    let parked = match parked_request(provider, &ui, req, browser.as_deref()).await {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let ui = &ui_for(ui, parked.as_ref(), "/login", req);
    let upstream_mfa = idp.accept_upstream_mfa && mapping::upstream_mfa(&profile);
    let amr: Vec<String> = if upstream_mfa {
        vec!["fed".into(), "mfa".into()]
    } else {
        vec!["fed".into()]
    };
    // A request that accepts only a second factor gets one when the user has one; a factor
    // enrolled within this very sign-in would prove nothing beyond the password, so a user
    // without one gets `unmet_authentication_requirements` after the sign-in instead.
    match second_factor::need(provider, &user).await {
        Ok(need) if need != Need::Nothing && !upstream_mfa => {
            let pending = Pending {
                user_id: user.id,
                device: None,
                known_device: false,
                req: verified.req.clone(),
                enrol: None,
                must_enrol: need == Need::Enrol,
                created_at: state.clock.now().unix_timestamp(),
                id: crate::crypto::random_token::<16>(),
                first: amr,
            };
            return second_step(&state, ui, &pending).await;
        }
        Ok(_) => {}
        Err(_) => return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
    let done = Completed {
        user: &user,
        amr,
        via: "federation",
        device: None,
        req,
        cookies: Vec::new(),
        // The upstream vouched for the browser's user; no new-device mail for each SSO sign-in.
        known_device: true,
        authenticated_at: upstream_auth_time(&verified.claims),
    };
    complete(&state, ui, &headers, &ctx, done, parked).await
}

/// Counts and audits a refused federated sign-in; a 502 (`status`) puts the fault upstream.
async fn refused(
    state: &AppState,
    ctx: &RequestContext,
    idp: Option<&IdentityProvider>,
    reason: &str,
    status: StatusCode,
) {
    let provider = &state.provider;
    provider.metrics.federated(if status == StatusCode::BAD_GATEWAY {
        Federated::UpstreamError
    } else {
        Federated::Refused
    });
    let record = AuditRecord::federated_login_failed(state.clock.now(), idp.map(|i| (i.id, i.account_id)), reason, ctx);
    provider.audit.record_or_log(record).await;
}

/// The status and page text of a failed round trip.
fn explain(ui: &Ui, e: &FederationError) -> (StatusCode, &'static str) {
    match e {
        FederationError::Expired | FederationError::Replayed | FederationError::OtherBrowser => {
            (StatusCode::BAD_REQUEST, ui.fed_expired)
        }
        FederationError::WrongIssuer(_) | FederationError::MissingIssuer => {
            (StatusCode::BAD_REQUEST, ui.fed_wrong_issuer)
        }
        FederationError::Disabled => (StatusCode::FORBIDDEN, ui.fed_disabled),
        FederationError::Denied { error, .. } if error == "access_denied" => (StatusCode::FORBIDDEN, ui.fed_cancelled),
        FederationError::Denied { .. } => (StatusCode::BAD_GATEWAY, ui.fed_upstream_error),
        FederationError::CodeRefused(_) => (StatusCode::BAD_REQUEST, ui.fed_code_refused),
        FederationError::BadToken(_) | FederationError::Upstream(UpstreamError::Invalid(_)) => {
            (StatusCode::BAD_GATEWAY, ui.fed_unverifiable)
        }
        FederationError::Upstream(UpstreamError::Unreachable(_)) => (StatusCode::BAD_GATEWAY, ui.fed_unreachable),
        FederationError::Secret(_) => (StatusCode::INTERNAL_SERVER_ERROR, ui.fed_misconfigured),
        FederationError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

fn explain_provision(ui: &Ui, e: &ProvisionError) -> (StatusCode, &'static str) {
    match e {
        ProvisionError::NotProvisioned => (StatusCode::FORBIDDEN, ui.fed_not_provisioned),
        ProvisionError::NotMember => (StatusCode::FORBIDDEN, ui.fed_not_member),
        ProvisionError::AddressTaken(_) => (StatusCode::FORBIDDEN, ui.fed_address_taken),
        ProvisionError::Blocked => (StatusCode::FORBIDDEN, ui.fed_blocked),
        ProvisionError::Gone | ProvisionError::AccountInactive => (StatusCode::FORBIDDEN, ui.fed_inactive),
        ProvisionError::NoSubject => (StatusCode::BAD_GATEWAY, ui.fed_unverifiable),
        ProvisionError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}
