//! Error responses: one JSON shape, `{"error", "error_description"}`, everywhere.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A JSON error response.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// 429 in the admin API's JSON shape, with `Retry-After` and `RateLimit` headers.
pub fn rate_limited_json(limited: &crate::security::ratelimit::Limited) -> Response {
    let mut response = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        &format!("too many requests; retry after {} s", limited.retry_after_secs()),
    );
    response.headers_mut().extend(limited.headers());
    response
}

/// Unknown paths.
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// A panic inside a handler: logged with an opaque id, answered without internals.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let id = uuid::Uuid::new_v4();
    tracing::error!(error.id = %id, "a handler panicked");
    let mut response = json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        &format!("internal error (reference {id})"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Protocol errors as RFC 6749 §5.2 wants them: JSON, never cached, and a `WWW-Authenticate`
/// challenge with 401.
impl IntoResponse for crate::oauth::error::OAuthError {
    fn into_response(self) -> Response {
        let status = match &self.limited {
            Some(_) => StatusCode::TOO_MANY_REQUESTS,
            None if self.in_body => StatusCode::BAD_REQUEST,
            None => StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::BAD_REQUEST),
        };
        let mut response = json_error(status, self.code.as_str(), &self.description);
        let headers = response.headers_mut();
        if let Some(limited) = &self.limited {
            headers.extend(limited.headers());
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.code == crate::oauth::error::ErrorCode::InvalidClient && !self.in_body {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"propusk\""),
            );
        }
        response
    }
}

/// Marks a successful protocol response as not cacheable (RFC 6749 §5.1).
pub fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
