//! `POST /introspect` (RFC 7662). `token_type_hint` is accepted and not needed: every kind of
//! token is recognised by its form.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::error::no_store;
use super::extract::{Budget, OAuthForm, TokenForm};
use crate::oauth::client_auth::Accept;
use crate::oauth::error::OAuthError;
use crate::oauth::introspect::introspect as run;
use crate::security::Services;

pub async fn introspect(
    State(provider): State<Arc<Services>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let caller = form
        .client(&provider, &headers, Accept::ConfidentialOnly, Budget::Introspection)
        .await?;
    Ok(no_store(Json(run(&provider, &caller, form.token()?).await?)))
}
