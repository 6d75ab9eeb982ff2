//! The HTTP edge (axum): routes, middleware and the mapping of domain results to responses.

pub mod account;
pub mod account_home;
pub mod account_page;
pub mod admin;
pub mod authorize;
pub mod authz;
pub mod bearer;
pub mod browser;
pub mod consent;
pub mod console;
pub mod cors;
pub mod discovery;
pub mod error;
pub mod extract;
pub mod federation;
pub mod gateway;
pub mod health;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod login_2fa;
pub mod logout;
pub mod openapi;
pub mod par;
pub mod reset;
pub mod revocations;
pub mod revoke;
pub mod server;
mod state;
pub mod token;
pub mod ui;
pub mod userinfo;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::telemetry;
pub use state::AppState;

/// Request bodies larger than this are refused before any handler reads them.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the server, with the middleware every request passes through: a request id
/// (`x-request-id`, kept when the gateway sent one), a tracing span, panic containment, a
/// body size limit and a timeout.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/.well-known/openid-configuration", get(discovery::discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery::discovery))
        .route("/jwks", get(jwks::jwks))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/login", get(login::show).post(login::submit))
        .route("/login/sso", post(federation::start))
        .route("/federation/callback", get(federation::callback))
        .route("/login/2fa", get(login_2fa::show).post(login_2fa::submit))
        .route("/login/2fa/send", post(login_2fa::send))
        .route("/login/reset", get(reset::show).post(reset::submit))
        .route("/account", get(account_home::show).post(account_home::submit))
        .route("/account/security", get(account_page::show).post(account_page::submit))
        .route(
            "/login/reset/confirm",
            get(reset::show_confirm).post(reset::submit_confirm),
        )
        .route("/consent", get(consent::show).post(consent::submit))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route(
            "/userinfo",
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .options(cors::preflight),
        )
        .route("/static/propusk.css", get(browser::stylesheet))
        .route("/lang/{code}", get(ui::switch))
        .route("/static/form_post.js", get(browser::form_post_script))
        .route("/token", post(token::token).options(cors::preflight))
        .route("/par", post(par::par))
        .route("/introspect", post(introspect::introspect))
        .route("/authz/check", post(authz::check))
        .route("/revoke", post(revoke::revoke).options(cors::preflight))
        .route("/revocations", get(revocations::feed))
        .merge(gateway::routes())
        .merge(admin::routes())
        .merge(console::routes())
        .merge(account::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_response))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::request_span)
                        .on_request(())
                        .on_response(telemetry::record_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(30),
                )),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

/// What every answer carries and every request is held to before routing: a body declared
/// larger than [`MAX_BODY_BYTES`] is a 413 at once (not a wait for bytes that never come);
/// `X-Content-Type-Options: nosniff` on every answer, and `Strict-Transport-Security` when the
/// issuer is https (RFC 6797; browsers ignore it over plain http).
async fn edge(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut response = if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        let mut refused = error::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        );
        refused
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        refused
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if state.config.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Counts every response by status class.
async fn count_response(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    state.provider.metrics.response(response.status().as_u16());
    response
}
