//! `POST /revoke` (RFC 7009).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::cors;
use super::error::no_store;
use super::extract::{OAuthForm, authorization};
use crate::identity::application::Application;
use crate::oauth::client_auth::{self, Accept, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::provider::Provider;
use crate::oauth::revoke::{check_hint, revoke as run};

/// No `Debug`: it holds a token and a client secret.
#[derive(Deserialize)]
pub struct RevocationForm {
    token: Option<String>,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

pub async fn revoke(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<RevocationForm>,
) -> Result<Response, OAuthError> {
    let presented = Presented::from_request(
        authorization(&headers),
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    let caller = client_auth::authenticate(&provider.clients, presented, Accept::Any).await?;
    let mut response = match revoke_token(&provider, &caller, form).await {
        Ok(()) => no_store(StatusCode::OK),
        Err(e) => e.into_response(),
    };
    cors::allow(&caller, &headers, &mut response);
    Ok(response)
}

async fn revoke_token(provider: &Provider, caller: &Application, form: RevocationForm) -> Result<(), OAuthError> {
    let token = form
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    check_hint(form.token_type_hint.as_deref())?;
    run(provider, caller, &token).await
}
