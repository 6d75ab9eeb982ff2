//! `POST /revoke` (RFC 7009).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::cors;
use super::error::no_store;
use super::extract::{Budget, OAuthForm, TokenForm};
use crate::model::application::Application;
use crate::oauth::client_auth::Accept;
use crate::oauth::error::OAuthError;
use crate::oauth::revoke::revoke as run;
use crate::security::Services;

pub async fn revoke(
    State(provider): State<Arc<Services>>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let caller = form.client(&provider, &headers, Accept::Any, Budget::Client).await?;
    let mut response = match revoke_token(&provider, &caller, &form).await {
        Ok(()) => no_store(StatusCode::OK),
        Err(e) => e.into_response(),
    };
    cors::allow(&caller, &headers, &mut response);
    Ok(response)
}

async fn revoke_token(provider: &Services, caller: &Application, form: &TokenForm) -> Result<(), OAuthError> {
    let token = form.token()?;
    run(provider, caller, token).await
}
