//! `/account/v1`: the signed-in user's own profile, password and sessions, with the user's
//! bearer access token.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::bad_body;
use super::bearer::{Api, authorized};
use super::error::json_error;
use super::extract::{ClientIp, request_context};
use crate::http::AppState;
use crate::identity::account_self::{Channel, Offered, ProfileChange, SelfService, SignedIn, VerifyError};

pub fn routes() -> Router<AppState> {
    let (router, paths) = OpenApiRouter::<AppState>::default()
        .routes(routes!(profile, update_profile))
        .routes(routes!(change_password))
        .routes(routes!(sessions))
        .routes(routes!(end_session))
        .routes(routes!(factors))
        .routes(routes!(enrol_totp))
        .routes(routes!(confirm_factor))
        .routes(routes!(add_code_factor, remove_factor))
        .routes(routes!(recovery_codes))
        .routes(routes!(send_verification))
        .routes(routes!(confirm_verification))
        .split_for_parts();
    let document = super::openapi::document(
        "Propusk account API",
        "The signed-in user's own account: profile, password, sessions, second factors. Bearer \
         access tokens of first-party applications; a new email, phone, password or factor needs \
         fresh proof (the password, and a second factor when the user has one) after ten minutes.",
        paths,
    );
    router.route("/account/v1/openapi.json", super::openapi::serve(&document))
}

fn no_channel() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "verify `email` or `phone`")
}
#[utoipa::path(post, path = "/account/v1/factors/{id}", tag = "factors", params(("id" = String, Path, description = "`email` or `sms`")), request_body(content = Option<crate::identity::account_self::Offered>, description = "Fresh proof, when the sign-in is older than ten minutes"), responses((status = 201, description = "Codes by email or SMS as a second factor", body = crate::http::openapi::FactorView)))]
pub async fn add_code_factor(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(kind): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let kind = match kind.as_str() {
        "email" => crate::model::mfa::FactorKind::Email,
        "sms" => crate::model::mfa::FactorKind::Sms,
        _ => return json_error(StatusCode::NOT_FOUND, "not_found", "factors are totp, email or sms"),
    };
    let svc = service(&state, peer, &headers);
    if let Err(refused) = gate(&state, &svc, &me, &body).await {
        return refused;
    }
    match svc.add_code_factor(&me.sub, kind).await {
        Ok(factor) => (StatusCode::CREATED, Json(factor.view())).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/account/v1/verification/{channel}", tag = "verification", params(("channel" = String, Path, description = "`email` or `phone`")), responses((status = 202, description = "A code is on its way")))]
pub async fn send_verification(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(name): Path<String>,
) -> Response {
    let Some(channel) = Channel::parse(&name) else {
        return no_channel();
    };
    let notifier = &state.provider.notifier;
    match service(&state, peer, &headers)
        .send_verification(&me.sub, channel, notifier)
        .await
    {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(VerifyError::Admin(e)) => e.into_response(),
        Err(VerifyError::Otp(e)) => send_refused(&e),
        Err(VerifyError::Notify(e)) => {
            tracing::warn!(error = %e, "a verification code could not be sent");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the code could not be sent; try again shortly",
            )
        }
    }
}

/// 429 for the cooldown or a spent daily budget, with `Retry-After`.
pub fn send_refused(e: &crate::security::signin::otp::SendError) -> Response {
    use crate::security::signin::otp::SendError;
    let wait = match e {
        SendError::Cooldown(secs) => *secs,
        SendError::Budget { retry_after_secs } => *retry_after_secs,
        SendError::Store(_) => {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            );
        }
    };
    let mut response = json_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &e.to_string());
    if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    response
}

#[utoipa::path(post, path = "/account/v1/verification/{channel}/confirm", tag = "verification", params(("channel" = String, Path, description = "`email` or `phone`")), request_body = CodeBody, responses((status = 200, description = "Confirmed", body = crate::model::user::UserView)))]
pub async fn confirm_verification(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(name): Path<String>,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> Response {
    let Some(channel) = Channel::parse(&name) else {
        return no_channel();
    };
    let body = match code_body(&state, peer, body).await {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    match service(&state, peer, &headers)
        .confirm_verification(&state.provider, &me.sub, channel, &body.code)
        .await
    {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/account/v1/factors", tag = "factors", responses((status = 200, description = "The second factors", body = crate::http::openapi::FactorList)))]
pub async fn factors(State(state): State<AppState>, ClientIp(peer): ClientIp, headers: HeaderMap, me: Me) -> Response {
    match service(&state, peer, &headers).factors(&me.sub).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/account/v1/factors/totp", tag = "factors", request_body(content = Option<crate::identity::account_self::Offered>, description = "Fresh proof, when the sign-in is older than ten minutes"), responses((status = 201, description = "An authenticator waiting for its first code", body = crate::identity::account_self::TotpEnrolment)))]
pub async fn enrol_totp(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: axum::body::Bytes,
) -> Response {
    let svc = service(&state, peer, &headers);
    if let Err(refused) = gate(&state, &svc, &me, &body).await {
        return refused;
    }
    let issuer = state.config.issuer.host_str().unwrap_or("Propusk").to_owned();
    match svc.enrol_totp(&me.sub, &issuer).await {
        Ok(enrolment) => (StatusCode::CREATED, Json(enrolment)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    code: String,
}

/// A `{"code"}` body, counted against the client address's code-check budget.
async fn code_body(
    state: &AppState,
    ip: std::net::IpAddr,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> Result<CodeBody, Box<Response>> {
    let Ok(Json(body)) = body else {
        return Err(Box::new(bad_body(
            "code",
            "expected a JSON body {\"code\": \"123456\"}",
        )));
    };
    match super::browser::limit_code(state, ip).await {
        Ok(()) => Ok(body),
        Err(limited) => Err(Box::new(super::error::rate_limited_json(&limited))),
    }
}

#[utoipa::path(post, path = "/account/v1/factors/{id}/confirm", tag = "factors", params(("id" = String, Path)), request_body = CodeBody, responses((status = 200, description = "Confirmed", body = crate::http::openapi::Confirmed)))]
pub async fn confirm_factor(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(id): Path<String>,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> Response {
    let body = match code_body(&state, peer, body).await {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    match service(&state, peer, &headers)
        .confirm_totp(&me.sub, &id, &body.code)
        .await
    {
        Ok(codes) => Json(serde_json::json!({ "confirmed": true, "recovery_codes": codes })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(delete, path = "/account/v1/factors/{id}", tag = "factors", params(("id" = String, Path)), request_body(content = Option<crate::identity::account_self::Offered>, description = "Fresh proof, when the sign-in is older than ten minutes"), responses((status = 204, description = "Removed")))]
pub async fn remove_factor(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let svc = service(&state, peer, &headers);
    if let Err(refused) = gate(&state, &svc, &me, &body).await {
        return refused;
    }
    match svc.remove_factor(&state.provider, &me.sub, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/account/v1/recovery-codes", tag = "factors", request_body(content = Option<crate::identity::account_self::Offered>, description = "Fresh proof, when the sign-in is older than ten minutes"), responses((status = 200, description = "New recovery codes, shown once; the old ones stop working", body = crate::http::openapi::RecoveryCodes)))]
pub async fn recovery_codes(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: axum::body::Bytes,
) -> Response {
    let svc = service(&state, peer, &headers);
    if let Err(refused) = gate(&state, &svc, &me, &body).await {
        return refused;
    }
    match svc.new_recovery_codes(&me.sub).await {
        Ok(codes) => Json(serde_json::json!({ "recovery_codes": codes })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The user behind a valid, unrevoked user token of a first-party application (`sub`, and the
/// session and sign-in it came from).
pub struct Me {
    sub: String,
    sid: Option<String>,
    /// How and when the sign-in behind the token happened (RFC 8176 `amr`, `auth_time`).
    signed_in: SignedIn,
}

impl Me {
    /// Passes when the request carries fresh proof for a sensitive change (DESIGN.md): a recent
    /// sign-in (with the second factor, for users who have one), or `current_password` (+ `otp`)
    /// in `offered` — checked under the sign-in lockout, and rationed per address like sign-in
    /// forms. `password_required`: the current password is needed whatever the token says.
    async fn proven(
        &self,
        state: &AppState,
        svc: &SelfService<'_>,
        offered: &Offered,
        password_required: bool,
    ) -> Result<(), Response> {
        let user = svc.me(&self.sub).await.map_err(IntoResponse::into_response)?;
        if offered.current_password.is_some()
            && let Err(limited) = super::browser::limit_form_json(state, svc.ctx.client_ip()).await
        {
            return Err(super::error::rate_limited_json(&limited));
        }
        svc.fresh_proof(&state.provider, &user, &self.signed_in, offered, password_required)
            .await
            .map_err(IntoResponse::into_response)
    }
}

/// An optional JSON body of proof (`current_password`, `otp`) on routes that take no other body.
fn offered(body: &axum::body::Bytes) -> Result<Offered, crate::identity::admin::AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Offered::default());
    }
    serde_json::from_slice(body).map_err(|_| crate::identity::admin::AdminError::Invalid {
        field: "body",
        message: "expected nothing, or JSON with current_password and otp".into(),
    })
}

impl FromRequestParts<AppState> for Me {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let claims = authorized(&state.provider, &parts.headers, Api::Account).await?.claims;
        Ok(Self {
            sub: claims.sub.clone(),
            sid: claims.sid.clone(),
            signed_in: SignedIn {
                auth_time: claims.auth_time,
                amr: claims.amr.clone().unwrap_or_default(),
            },
        })
    }
}

pub(super) fn service<'a>(state: &'a AppState, peer: std::net::IpAddr, headers: &HeaderMap) -> SelfService<'a> {
    SelfService {
        db: state.stores.db.as_ref(),
        seal_key: &state.provider.seal_key,
        notifier: &state.provider.notifier,
        state: &state.stores.state,
        clock: state.clock.as_ref(),
        audit: &state.provider.audit,
        source: &state.provider.issuer,
        ctx: request_context(peer, headers),
    }
}

#[utoipa::path(get, path = "/account/v1/profile", tag = "profile", responses((status = 200, description = "The signed-in user", body = crate::model::user::UserView)))]
pub async fn profile(State(state): State<AppState>, ClientIp(peer): ClientIp, headers: HeaderMap, me: Me) -> Response {
    match service(&state, peer, &headers).me(&me.sub).await {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(patch, path = "/account/v1/profile", tag = "profile", request_body = ProfileRequest, responses((status = 200, description = "Changed; a new email or phone waits for its code (`pending`)", body = crate::http::openapi::OwnProfile)))]
pub async fn update_profile(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: Result<Json<ProfileRequest>, JsonRejection>,
) -> Response {
    let Ok(Json(request)) = body else {
        return bad_body("body", "expected JSON with name, email, phone or profile");
    };
    let svc = service(&state, peer, &headers);
    let sensitive = request.change.email.is_some() || request.change.phone.is_some();
    if sensitive && let Err(refused) = me.proven(&state, &svc, &request.proof, false).await {
        return refused;
    }
    match svc.update_profile(&state.provider, &me.sub, request.change).await {
        Ok((user, pending)) => {
            let mut view = serde_json::to_value(user.view()).unwrap_or_default();
            if let (Some(object), Ok(pending)) = (view.as_object_mut(), serde_json::to_value(&pending)) {
                object.insert("pending".into(), pending);
            }
            Json(view).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// A profile change, with proof for a new email or phone.
// No `Debug`: a password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ProfileRequest {
    #[serde(flatten)]
    change: ProfileChange,
    #[serde(flatten)]
    proof: Offered,
}

/// [`Me::proven`] with the proof of an optional JSON body.
async fn gate(state: &AppState, svc: &SelfService<'_>, me: &Me, body: &axum::body::Bytes) -> Result<(), Response> {
    let offered = offered(body).map_err(IntoResponse::into_response)?;
    me.proven(state, svc, &offered, false).await
}

/// A new password, with the current one.
// No `Debug`: passwords.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
    /// A TOTP or recovery code, for users with a second factor and no fresh sign-in with it.
    otp: Option<String>,
}

#[utoipa::path(post, path = "/account/v1/password", tag = "password", request_body = PasswordChange, responses((status = 204, description = "Changed; every other session ends")))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_body("body", "expected JSON with current_password and new_password");
    };
    let svc = service(&state, peer, &headers);
    let proof = Offered {
        current_password: Some(body.current_password.clone()),
        otp: body.otp.clone(),
        device: None,
    };
    if let Err(refused) = me.proven(&state, &svc, &proof, true).await {
        return refused;
    }
    let result = svc
        .change_password(&me.sub, &body.new_password, state.provider.bcrypt_cost)
        .await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/account/v1/sessions", tag = "sessions", responses((status = 200, description = "The signed-in browsers", body = crate::http::openapi::SessionList)))]
pub async fn sessions(State(state): State<AppState>, ClientIp(peer): ClientIp, headers: HeaderMap, me: Me) -> Response {
    match service(&state, peer, &headers).sessions(&me.sub).await {
        Ok(sids) => {
            let items: Vec<_> = sids
                .iter()
                .map(|sid| serde_json::json!({ "sid": sid, "current": me.sid.as_deref() == Some(sid) }))
                .collect();
            Json(serde_json::json!({ "items": items })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(delete, path = "/account/v1/sessions/{sid}", tag = "sessions", params(("sid" = String, Path)), responses((status = 204, description = "Signed out")))]
pub async fn end_session(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    me: Me,
    Path(sid): Path<String>,
) -> Response {
    match service(&state, peer, &headers).end_session(&me.sub, &sid).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
