//! `/jwks`: the public signing keys, current and previous (RFC 7517 §5).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::provider::Provider;

pub async fn jwks(State(provider): State<Arc<Provider>>) -> Response {
    let keyring = provider.keyring();
    let keys: Vec<_> = keyring.published().collect();
    let mut response = Json(json!({ "keys": keys })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
