//! The OpenAPI 3.1 documents of `/admin/v1` and `/account/v1`, served at
//! `/admin/v1/openapi.json` and `/account/v1/openapi.json`. Each route is registered through
//! utoipa-axum's router with its `#[utoipa::path]` description, so registering a route and
//! describing it are one act; request and response bodies are the code's own types (or, where a
//! handler answers with built JSON, the shapes below, which `bench/fuzz` checks every answer
//! against). Every operation also lists the errors every route may answer (DESIGN.md: the
//! admin and account APIs' errors).

use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};
use utoipa::{Modify, ToSchema};

/// An error answer: an OAuth-style code and words (`{field}: {message}` for a bad field).
#[derive(Serialize, ToSchema)]
pub struct ApiError {
    #[schema(example = "invalid_request")]
    pub error: String,
    pub error_description: Option<String>,
}

/// An application as the admin API shows it (never a secret or its hash).
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// The scopes it may ask for, space-separated.
    pub scope: String,
    pub first_party: bool,
    pub introspect: bool,
    pub service_role: Option<String>,
    #[schema(format = Uuid)]
    pub account_id: Option<String>,
    pub id_token_signed_response_alg: String,
    pub enabled: bool,
    pub resources: Vec<String>,
    pub token_permissions: bool,
    pub require_pushed_authorization_requests: bool,
    pub token_endpoint_auth_method: String,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Only in the answer to its registration, for a confidential application: shown once.
    pub client_secret: Option<String>,
}

/// A new secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct NewSecret {
    pub client_id: String,
    pub client_secret: String,
}

/// An identity provider of a B2B account (never its client secret).
#[derive(Serialize, ToSchema)]
pub struct IdpView {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub account_id: String,
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub scopes: Vec<String>,
    #[schema(value_type = Object)]
    pub claims: serde_json::Value,
    pub domains: Vec<String>,
    pub jit: bool,
    pub default_role: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub role_rules: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub required_claims: Vec<serde_json::Value>,
    pub sso_required: bool,
    pub accept_upstream_mfa: bool,
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// One audit record.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// `user`, `application` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    #[schema(format = Uuid)]
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    #[schema(value_type = Vec<crate::model::user::UserView>)]
    pub items: Vec<serde_json::Value>,
    /// The cursor of the next page; none after the last.
    pub next_cursor: Option<String>,
}

/// A page of B2B accounts.
#[derive(Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<crate::model::account::Account>,
    pub next_cursor: Option<String>,
}

/// A page of applications.
#[derive(Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationView>,
    pub next_cursor: Option<String>,
}

/// A page of audit records, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditView>,
    pub next_cursor: Option<i64>,
}

/// Every role the caller may see.
#[derive(Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<crate::model::role::Role>,
}

/// The identity providers of an account.
#[derive(Serialize, ToSchema)]
pub struct IdpList {
    pub items: Vec<IdpView>,
}

/// One second factor (never its seed; the target masked).
#[derive(Serialize, ToSchema)]
pub struct FactorView {
    #[schema(format = Uuid)]
    pub id: String,
    /// `totp`, `email` or `sms`.
    pub kind: String,
    pub target: Option<String>,
    pub confirmed: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// The user's second factors.
#[derive(Serialize, ToSchema)]
pub struct FactorList {
    pub items: Vec<FactorView>,
    pub recovery_codes_left: i64,
}

/// Recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A confirmed authenticator, with the recovery codes its confirmation made (the first factor).
#[derive(Serialize, ToSchema)]
pub struct Confirmed {
    pub confirmed: bool,
    pub recovery_codes: Option<Vec<String>>,
}

/// The user's own profile, with any new email or phone waiting for its code.
#[derive(Serialize, ToSchema)]
pub struct OwnProfile {
    #[serde(flatten)]
    #[schema(inline)]
    pub user: crate::model::user::UserView<'static>,
    /// New contact values waiting for their code.
    #[schema(value_type = Option<Object>)]
    pub pending: Option<serde_json::Value>,
}

/// One of the user's signed-in browsers.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub sid: String,
    /// The session of this token.
    pub current: bool,
}

/// The user's signed-in browsers.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

/// The bearer scheme and the errors every route may answer, added to each operation.
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token of Propusk (RFC 9068)"))
                    .build(),
            ),
        );
        components
            .schemas
            .insert("ApiError".into(), <ApiError as utoipa::PartialSchema>::schema());
        let errors = [
            ("400", "A bad parameter or body (`invalid_request`)"),
            ("401", "No token, or a bad, expired or revoked one (`invalid_token`)"),
            ("403", "No authority for this (`insufficient_scope`, `forbidden`)"),
            ("404", "Nothing there that the caller may see (`not_found`)"),
            ("409", "A conflict with what is stored (`conflict`)"),
            (
                "429",
                "Too many requests (`rate_limited`); `Retry-After` says when to retry",
            ),
            ("503", "A store is unavailable (`temporarily_unavailable`)"),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
                for (status, description) in errors {
                    let answer = ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ApiError"))))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .entry(status.into())
                        .or_insert(RefOr::T(answer));
                }
            }
        }
    }
}

/// A document's frame: its title, what it is, and the common parts.
pub fn document(title: &str, description: &str, paths: OpenApi) -> OpenApi {
    let mut openapi = paths;
    openapi.info = utoipa::openapi::InfoBuilder::new()
        .title(title)
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(description))
        .build();
    Common.modify(&mut openapi);
    openapi
}

/// The route serving `document` (public: it describes the API, not its data), rendered once.
pub fn serve(document: &OpenApi) -> axum::routing::MethodRouter<crate::http::AppState> {
    let body = axum::body::Bytes::from(serde_json::to_vec(document).unwrap_or_default());
    axum::routing::get(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response() }
    })
}
