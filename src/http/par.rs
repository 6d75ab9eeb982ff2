//! `POST /par`: Pushed Authorization Requests (RFC 9126). The client authenticates as at
//! `/token` and pushes its authorization request; it is checked as `/authorize` would check it
//! and kept for 60 seconds under a one-time `request_uri`, which the client then sends to
//! `/authorize` with its `client_id` alone. Errors are answered here, never redirected.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{json_error, no_store};
use super::extract::{Budget, OAuthForm, client};
use crate::oauth::authorize::{self, PUSHED_LIFETIME, RawAuthorizationRequest};
use crate::oauth::client_auth::{Accept, BodyCredentials};
use crate::security::Services;

/// The pushed request and the client's credentials. No `Debug`: it holds a secret.
#[derive(Deserialize)]
pub struct PushedForm {
    #[serde(flatten)]
    request: RawAuthorizationRequest,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

pub async fn par(
    State(provider): State<Arc<Services>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<PushedForm>,
) -> Response {
    let body = BodyCredentials {
        id: form.request.client_id.as_deref(),
        secret: form.client_secret.as_deref(),
        assertion_type: form.client_assertion_type.as_deref(),
        assertion: form.client_assertion.as_deref(),
    };
    let app = match client(&provider, &headers, body, Accept::Any, Budget::Client).await {
        Ok(app) => app,
        Err(e) => return e.into_response(),
    };
    match authorize::push(&provider, &app, form.request).await {
        Ok(request_uri) => no_store((
            StatusCode::CREATED,
            Json(json!({ "request_uri": request_uri, "expires_in": PUSHED_LIFETIME.whole_seconds() })),
        )),
        Err((error, description)) => {
            let status = if error == "temporarily_unavailable" {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            no_store(json_error(status, &error, &description))
        }
    }
}
