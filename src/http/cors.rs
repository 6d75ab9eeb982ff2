//! CORS for browser apps (public clients) at `/token`, `/userinfo` and `/revoke`: a response is
//! readable cross-origin only by the web origins of the calling application's redirect URIs.
//! Preflights are answered for any origin; they reveal nothing, and the real response decides.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::model::application::Application;

/// `OPTIONS` preflight.
pub async fn preflight(headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = headers.get(header::ORIGIN).cloned() {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, DPoP"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// Lets the request's origin read `response` when it is a web origin of `app`, a public client.
pub fn allow(app: &Application, headers: &HeaderMap, response: &mut Response) {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return;
    };
    let Ok(text) = origin.to_str() else { return };
    let allowed = app.is_public()
        && app
            .redirect_uris
            .iter()
            .any(|r| r.as_url().origin().ascii_serialization() == text);
    if allowed {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}
