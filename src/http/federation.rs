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
use super::login::{Completed, UNAVAILABLE, complete, parked_request, second_step};
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
    message: &'a str,
    retry: &'a str,
}

fn failure(status: StatusCode, message: &str, req: Option<&str>) -> Response {
    let retry = match req {
        Some(req) => format!(
            "/login?req={}",
            percent_encoding::utf8_percent_encode(req, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "/login".to_owned(),
    };
    page(status, &FederationErrorPage { message, retry: &retry }, &[])
}

/// Sends the browser to `idp` to sign in (for the parked request `req`, if any).
pub(super) async fn go_upstream(
    state: &AppState,
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
            let (status, message) = explain(&e);
            failure(status, message, req)
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
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SsoForm>,
) -> Response {
    if let Err(refused) = checked_form(&state, peer, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let provider = &state.provider;
    let req = form.req.as_deref();
    let parked = match parked_request(provider, req, browser_cookie(&state, &headers).as_deref()).await {
        Ok(parked) => parked,
        Err(page) => return page,
    };
    let typed = form.company.unwrap_or_default();
    let typed = typed.trim();
    match federation_core::provider_for(provider, typed).await {
        Ok(Some(idp)) => {
            let hint = typed.contains('@').then_some(typed);
            go_upstream(&state, &headers, &idp, req, hint, parked.as_ref()).await
        }
        Ok(None) => failure(
            StatusCode::NOT_FOUND,
            "No company sign-in is set up for that email domain or company. Sign in with your username and password.",
            req,
        ),
        Err(_) => error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
    }
}

/// `GET /federation/callback`.
pub async fn callback(
    State(state): State<AppState>,
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
            if let Err(limited) = limit_form(&state, peer).await {
                return limited;
            }
            tracing::warn!(error = %e, "a federated sign-in failed");
            let (status, message) = explain(&e);
            // An unknown state is noise anyone can send: logged, not audited.
            if !matches!(e, FederationError::Expired) {
                refused(&state, &ctx, None, &e.to_string(), status).await;
            }
            return failure(status, message, req.as_deref());
        }
    };
    let req = verified.req.as_deref();
    let idp = &verified.idp;
    let profile = mapping::profile(idp, &verified.claims);
    let (user, _) = match provision::user_for(provider, idp, &verified.issuer, &profile, &ctx).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(idp = %idp.id, error = %e, "a federated user may not sign in");
            let (status, message) = explain_provision(&e);
            refused(&state, &ctx, Some(idp), &e.to_string(), status).await;
            return failure(status, message, req);
        }
    };
    let parked = match parked_request(provider, req, browser.as_deref()).await {
        Ok(parked) => parked,
        Err(page) => return page,
    };
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
            return second_step(&state, &pending).await;
        }
        Ok(_) => {}
        Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
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
    complete(&state, &headers, &ctx, done, parked).await
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
fn explain(e: &FederationError) -> (StatusCode, &'static str) {
    match e {
        FederationError::Expired | FederationError::Replayed | FederationError::OtherBrowser => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or was already completed. Start again.",
        ),
        FederationError::WrongIssuer(_) | FederationError::MissingIssuer => (
            StatusCode::BAD_REQUEST,
            "The answer did not come from the identity provider this sign-in was sent to. Start again.",
        ),
        FederationError::Disabled => (
            StatusCode::FORBIDDEN,
            "Company sign-in is turned off for your organisation. Ask your administrator.",
        ),
        FederationError::Denied { error, .. } if error == "access_denied" => (
            StatusCode::FORBIDDEN,
            "Sign-in was cancelled at your company's identity provider.",
        ),
        FederationError::Denied { .. } => (
            StatusCode::BAD_GATEWAY,
            "Your company's identity provider reported an error. Try again, or ask your administrator.",
        ),
        FederationError::CodeRefused(_) => (
            StatusCode::BAD_REQUEST,
            "Your company's identity provider did not accept this sign-in (it may have been used already). Start again.",
        ),
        FederationError::BadToken(_) | FederationError::Upstream(UpstreamError::Invalid(_)) => (
            StatusCode::BAD_GATEWAY,
            "Your company's identity provider sent an answer that could not be verified. Ask your administrator.",
        ),
        FederationError::Upstream(UpstreamError::Unreachable(_)) => (
            StatusCode::BAD_GATEWAY,
            "Your company's identity provider could not be reached. Try again later.",
        ),
        FederationError::Secret(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Company sign-in is not configured correctly. Ask your administrator.",
        ),
        FederationError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
    }
}

fn explain_provision(e: &ProvisionError) -> (StatusCode, &'static str) {
    match e {
        ProvisionError::NotProvisioned => (
            StatusCode::FORBIDDEN,
            "Your company account has no access to this service yet. Ask your administrator.",
        ),
        ProvisionError::NotMember => (
            StatusCode::FORBIDDEN,
            "This identity does not belong to your company's directory. Sign in with your work account.",
        ),
        ProvisionError::AddressTaken(_) => (
            StatusCode::FORBIDDEN,
            "Your work email address is already used by another user here. Ask your administrator.",
        ),
        ProvisionError::Blocked => (
            StatusCode::FORBIDDEN,
            "This account is blocked. Contact your administrator.",
        ),
        ProvisionError::Gone | ProvisionError::AccountInactive => (
            StatusCode::FORBIDDEN,
            "This account is not active here. Contact your administrator.",
        ),
        ProvisionError::NoSubject => (
            StatusCode::BAD_GATEWAY,
            "Your company's identity provider sent an answer that could not be verified. Ask your administrator.",
        ),
        ProvisionError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
    }
}
