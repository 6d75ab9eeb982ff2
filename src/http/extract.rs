//! Request extraction for protocol endpoints: form bodies whose rejections are RFC errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::oauth::error::OAuthError;

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2). Another content type, a body
/// over the size limit, a malformed body or a repeated parameter is `invalid_request`.
pub struct OAuthForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OAuthForm<T> {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthError> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the body is too large or could not be read"))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(OAuthForm)
            .map_err(|e| OAuthError::invalid_request(format!("malformed form body: {e}")))
    }
}

/// The `Authorization` header as text, if any.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}
