//! `POST /introspect` (RFC 7662).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::error::no_store;
use super::extract::{OAuthForm, authorization};
use crate::oauth::client_auth::{self, Accept, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::introspect::introspect as run;
use crate::oauth::provider::Provider;

/// No `Debug`: it holds a token and a client secret.
#[derive(Deserialize)]
pub struct IntrospectionForm {
    token: Option<String>,
    #[expect(
        dead_code,
        reason = "accepted per RFC 7662 §2.1; every kind of token is looked up anyway"
    )]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

pub async fn introspect(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<IntrospectionForm>,
) -> Result<Response, OAuthError> {
    let presented = Presented::from_request(
        authorization(&headers),
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    let caller = client_auth::authenticate(&provider.clients, presented, Accept::ConfidentialOnly).await?;
    let token = form
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    Ok(no_store(Json(run(&provider, &caller, &token).await?)))
}
