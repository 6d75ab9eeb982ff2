//! The admin API, `/admin/v1` (DESIGN.md): JSON, bearer access tokens of first-party
//! applications or of `client_credentials` applications with a service role; each route checks
//! its permission through [`crate::identity::admin::principal::Principal`].

pub mod applications;
pub mod audit;
pub mod clients;
pub mod idps;
pub mod roles;
pub mod users;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bearer::{Api, authorized};
use super::error::{json_error, rate_limited_json};
use super::extract::request_context;
use crate::audit::RequestContext;
use crate::http::AppState;
use crate::identity::admin::AdminError;
use crate::identity::admin::principal::Principal;
use crate::identity::admin::services::AdminServices;
use crate::security::ratelimit::{self, Bucket};

pub fn routes() -> Router<AppState> {
    let (router, paths) = OpenApiRouter::<AppState>::default()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::read, users::update, users::delete))
        .routes(routes!(users::sign_out_everywhere))
        .routes(routes!(users::grant_permission, users::revoke_permission))
        .routes(routes!(users::block))
        .routes(routes!(users::unblock))
        .routes(routes!(users::unlock))
        .routes(routes!(users::reset_factors))
        .routes(routes!(users::change_role))
        .routes(routes!(audit::list))
        .routes(routes!(applications::list, applications::create))
        .routes(routes!(applications::read, applications::update, applications::delete))
        .routes(routes!(applications::rotate_secret))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::read, roles::update, roles::delete))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::read, clients::update, clients::delete))
        .routes(routes!(idps::list, idps::create))
        .routes(routes!(idps::read, idps::update, idps::delete))
        .routes(routes!(clients::add_admin, clients::remove_admin))
        .split_for_parts();
    let document = super::openapi::document(
        "Propusk admin API",
        "Users, B2B accounts and their identity providers, roles, applications and the audit trail. \
         Bearer access tokens of first-party applications (a user's, acting within their role) or \
         of client_credentials applications with a service role.",
        paths,
    );
    router.route("/admin/v1/openapi.json", super::openapi::serve(&document))
}

/// An admin request: the caller, where the request came from, and the services to act with.
pub struct AdminRequest {
    pub state: AppState,
    pub who: Principal,
    ctx: RequestContext,
}

impl FromRequestParts<AppState> for AdminRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Admin(who) = Admin::from_request_parts(parts, state).await?;
        let ip = super::extract::client_ip_of(parts, &state.provider);
        let ctx = request_context(ip, &parts.headers);
        if let Err(limited) = budget(state, &who).await {
            return Err(rate_limited_json(&limited));
        }
        Ok(Self {
            state: state.clone(),
            who,
            ctx,
        })
    }
}

impl AdminRequest {
    /// The administration services, acting for this request.
    pub fn admin(&self) -> AdminServices<'_> {
        services(&self.state, self.ctx.clone())
    }
}

/// The administration services, acting for a request from `ctx` (the admin API and the console).
pub fn services(state: &AppState, ctx: RequestContext) -> AdminServices<'_> {
    AdminServices {
        db: state.stores.db.as_ref(),
        state: &state.stores.state,
        clock: state.clock.as_ref(),
        audit: &state.provider.audit,
        source: &state.provider.issuer,
        ctx,
        notifier: &state.provider.notifier,
    }
}

/// Counts a request of `who` against the administrators' budget (`PROPUSK_RATE_LIMIT_ADMIN`).
pub async fn budget(state: &AppState, who: &Principal) -> Result<(), ratelimit::Limited> {
    let bucket = state
        .provider
        .limits
        .admin
        .map(|rate| Bucket::new("admin", &who.actor_id, rate));
    ratelimit::check_one(state.provider.state.as_ref(), bucket).await
}

/// The authenticated caller of an admin route.
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let bearer = authorized(&state.provider, &parts.headers, Api::Admin).await?;
        let claims = bearer.claims;
        Ok(Admin(Principal::from_claims(&claims)))
    }
}

/// A page of a listing: the cursor a previous page returned, and how many items.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A free-text filter of a listing: empty is no filter; control characters (a NUL byte cannot
/// even reach PostgreSQL) or more than 256 characters are a 400 naming the parameter.
pub fn text_filter(field: &'static str, value: Option<String>) -> Result<Option<String>, AdminError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > 256 || v.chars().any(char::is_control) => Err(AdminError::Invalid {
            field,
            message: "must be at most 256 characters without control characters".into(),
        }),
        Some(v) => Ok(Some(v)),
    }
}

/// 400 for a body (or query) that could not be read, shown as [`AdminError::Invalid`] shows
/// every bad field: `{field}: {message}`.
pub fn bad_body(field: &'static str, message: impl Into<String>) -> Response {
    AdminError::Invalid {
        field,
        message: message.into(),
    }
    .into_response()
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Invalid { field, message } => json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("{field}: {message}"),
            ),
            AdminError::Forbidden(reason) => json_error(StatusCode::FORBIDDEN, "forbidden", &reason),
            AdminError::NotFound(what) => json_error(StatusCode::NOT_FOUND, "not_found", &what),
            AdminError::Conflict(what) => json_error(StatusCode::CONFLICT, "conflict", &what),
            AdminError::StepUp(what) => {
                let mut response =
                    super::bearer::bearer_error(StatusCode::UNAUTHORIZED, "insufficient_user_authentication", &what);
                // RFC 9470 §3: how recent the authentication must be.
                let max_age = crate::identity::account_self::FRESH.whole_seconds();
                if let Some(challenge) = response.headers().get(axum::http::header::WWW_AUTHENTICATE)
                    && let Ok(text) = challenge.to_str()
                    && let Ok(value) = axum::http::HeaderValue::from_str(&format!("{text}, max_age={max_age}"))
                {
                    response
                        .headers_mut()
                        .insert(axum::http::header::WWW_AUTHENTICATE, value);
                }
                response
            }
            AdminError::Hashing => json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "password hashing failed",
            ),
            AdminError::Store(crate::store::StoreError::Conflict { .. }) => json_error(
                StatusCode::CONFLICT,
                "conflict",
                "the record was changed meanwhile: read it again and retry",
            ),
            AdminError::Store(e) => {
                tracing::warn!(error = %e, "admin API: store error");
                json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "a store is unavailable; try again shortly",
                )
            }
        }
    }
}
