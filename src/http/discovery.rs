//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4) and
//! `/.well-known/oauth-authorization-server` (RFC 8414 §3): the same document.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::metadata;
use crate::oauth::provider::Provider;

pub async fn discovery(State(provider): State<Arc<Provider>>) -> Response {
    let mut response = Json(metadata::document(&provider)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
