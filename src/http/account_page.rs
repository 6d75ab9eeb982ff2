//! `/account/security`: the signed-in browser's page for turning on an authenticator app
//! (QR code as inline SVG, the key to type, confirmed by a first code, then the recovery
//! codes). The same steps as `/account/v1/factors`, for people rather than programs.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::browser::{checked_form, csrf_token, error_page, page, session};
use super::extract::ClientIp;
use super::ui::Ui;
use crate::http::AppState;
use crate::identity::account_self::{Offered, SignedIn};
use crate::identity::admin::AdminError;
use crate::model::mfa;

pub struct EnrolView {
    id: String,
    qr_svg: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "account_security.html")]
struct SecurityPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    error: Option<&'a str>,
    message: Option<&'a str>,
    /// `(id, kind in words, masked target)` of the confirmed factors.
    factors: Vec<(String, String, String)>,
    enrol: Option<EnrolView>,
    codes: Vec<String>,
}

/// What to show besides the factor list.
#[derive(Default)]
struct Extra<'a> {
    status: Option<StatusCode>,
    error: Option<&'a str>,
    message: Option<&'a str>,
    enrol: Option<EnrolView>,
    codes: Vec<String>,
}

async fn render(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    user: crate::model::user::UserId,
    extra: Extra<'_>,
) -> Response {
    let Ok(factors) = state.stores.db.list_factors(user).await else {
        return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    };
    let factors = factors
        .iter()
        .filter(|f| f.is_confirmed())
        .map(|f| {
            let kind = match f.kind {
                mfa::FactorKind::Totp => ui.factor_totp,
                mfa::FactorKind::Email => ui.factor_email,
                mfa::FactorKind::Sms => ui.factor_sms,
            };
            let target = f.target.as_deref().map(mfa::mask).unwrap_or_default();
            (f.id.to_string(), kind.to_owned(), target)
        })
        .collect();
    let (csrf, set) = csrf_token(state, headers);
    let view = SecurityPage {
        ui,
        csrf: &csrf,
        error: extra.error,
        message: extra.message,
        factors,
        enrol: extra.enrol,
        codes: extra.codes,
    };
    page(extra.status.unwrap_or(StatusCode::OK), &view, set.as_slice())
}

/// The browser's session, or the page saying to sign in (the account pages).
pub(super) async fn signed_in(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
) -> Result<crate::security::session::Session, Response> {
    match session(state, headers).await {
        Ok(Some((_, s))) => Ok(s),
        Ok(None) => {
            let view = super::browser::MessagePage {
                ui,
                title: ui.sign_in_title,
                message: ui.sign_in_first,
                error: true,
                link: Some(("/login", ui.sign_in_link)),
            };
            Err(page(StatusCode::UNAUTHORIZED, &view, &[]))
        }
        Err(_) => Err(error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)),
    }
}

pub async fn show(State(state): State<AppState>, ui: Ui, headers: HeaderMap) -> Response {
    match signed_in(&state, &ui, &headers).await {
        Ok(session) => render(&state, &ui, &headers, session.user_id, Extra::default()).await,
        Err(page) => page,
    }
}

/// No `Debug`: it holds a code.
#[derive(Deserialize)]
pub struct SecurityForm {
    csrf: Option<String>,
    action: Option<String>,
    factor: Option<String>,
    code: Option<String>,
    /// Fresh proof, when the sign-in is older than ten minutes (or lacked the second factor).
    current_password: Option<String>,
    otp: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SecurityForm>,
) -> Response {
    let ui = &ui;
    if let Err(refused) = checked_form(&state, ui, ip, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    let session = match signed_in(&state, ui, &headers).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let user = session.user_id;
    let sub = user.to_string();
    let service = super::account::service(&state, ip, &headers);
    let issuer = state.config.issuer.host_str().unwrap_or("Propusk").to_owned();
    match form.action.as_deref() {
        Some(action @ ("totp" | "remove" | "recovery")) => {
            // The same fresh proof as the account API: a recent sign-in (with the second factor,
            // if there is one), or the password and a code typed here.
            let token = SignedIn::of(&session);
            let offered = Offered::typed(form.current_password.as_deref(), form.otp.as_deref())
                .in_browser(super::browser::device_id(&state, &headers));
            let proof = match service.me(&sub).await {
                Ok(me) => service.fresh_proof(&state.provider, &me, &token, &offered, false).await,
                Err(e) => Err(e),
            };
            match proof {
                Ok(()) if action == "totp" => enrol(&state, ui, &headers, &service, user, &issuer).await,
                Ok(()) if action == "remove" => {
                    let factor = form.factor.unwrap_or_default();
                    match service.remove_factor(&state.provider, &sub, &factor).await {
                        Ok(()) => {
                            let extra = Extra {
                                message: Some(ui.factor_removed),
                                ..Extra::default()
                            };
                            render(&state, ui, &headers, user, extra).await
                        }
                        Err(AdminError::NotFound(_)) => error_page(ui, StatusCode::BAD_REQUEST, ui.start_again),
                        Err(AdminError::Conflict(_)) => {
                            let extra = Extra {
                                status: Some(StatusCode::CONFLICT),
                                error: Some(ui.factor_required),
                                ..Extra::default()
                            };
                            render(&state, ui, &headers, user, extra).await
                        }
                        Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
                    }
                }
                Ok(()) => match service.new_recovery_codes(&sub).await {
                    Ok(codes) => {
                        let extra = Extra {
                            message: Some(ui.codes_made),
                            codes,
                            ..Extra::default()
                        };
                        render(&state, ui, &headers, user, extra).await
                    }
                    Err(AdminError::Invalid { .. } | AdminError::NotFound(_)) => {
                        error_page(ui, StatusCode::BAD_REQUEST, ui.no_factors)
                    }
                    Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
                },
                Err(AdminError::StepUp(_) | AdminError::Forbidden(_)) => {
                    let extra = Extra {
                        status: Some(StatusCode::UNAUTHORIZED),
                        error: Some(ui.step_up_needed),
                        ..Extra::default()
                    };
                    render(&state, ui, &headers, user, extra).await
                }
                Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
            }
        }
        Some("confirm") => {
            let factor = form.factor.unwrap_or_default();
            let code = form.code.unwrap_or_default();
            match service.confirm_totp(&sub, &factor, &code).await {
                Ok(codes) => {
                    let extra = Extra {
                        message: Some(ui.authenticator_on),
                        codes: codes.unwrap_or_default(),
                        ..Extra::default()
                    };
                    render(&state, ui, &headers, user, extra).await
                }
                Err(AdminError::Invalid { .. }) => {
                    // Show the same enrolment again.
                    let enrol = again(&state, user, &factor, &issuer).await;
                    let extra = Extra {
                        status: Some(StatusCode::BAD_REQUEST),
                        error: Some(ui.code_mismatch),
                        enrol,
                        ..Extra::default()
                    };
                    render(&state, ui, &headers, user, extra).await
                }
                Err(AdminError::NotFound(_)) => error_page(ui, StatusCode::BAD_REQUEST, ui.start_again),
                Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
            }
        }
        _ => error_page(ui, StatusCode::BAD_REQUEST, ui.unknown_action),
    }
}

/// Starts an authenticator enrolment and shows its QR code.
async fn enrol(
    state: &AppState,
    ui: &Ui,
    headers: &HeaderMap,
    service: &crate::identity::account_self::SelfService<'_>,
    user: crate::model::user::UserId,
    issuer: &str,
) -> Response {
    match service.enrol_totp(&user.to_string(), issuer).await {
        Ok(e) => {
            let enrol = EnrolView {
                id: e.id.to_string(),
                qr_svg: e.qr_svg,
                secret: e.secret,
            };
            let extra = Extra {
                enrol: Some(enrol),
                ..Extra::default()
            };
            render(state, ui, headers, user, extra).await
        }
        Err(_) => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

/// The enrolment view of an unconfirmed TOTP factor.
async fn again(state: &AppState, user: crate::model::user::UserId, id: &str, issuer: &str) -> Option<EnrolView> {
    let factors = state.stores.db.list_factors(user).await.ok()?;
    let fresh = state.clock.now() - crate::identity::account_self::FRESH;
    let factor = factors
        .iter()
        .find(|f| f.id.to_string() == id && !f.is_confirmed() && f.created_at >= fresh)?;
    let secret = mfa::totp_base32(&state.provider.seal_key, factor).ok()?;
    let account = state
        .stores
        .db
        .find_user(user)
        .await
        .ok()??
        .username
        .as_str()
        .to_owned();
    Some(EnrolView {
        id: id.to_owned(),
        qr_svg: mfa::qr_svg(&mfa::otpauth_uri(issuer, &account, &secret)),
        secret,
    })
}
