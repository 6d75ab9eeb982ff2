//! `POST /token` (RFC 6749 §3.2): authenticate the client, convert the form once, hand over to
//! the grant.

use std::sync::Arc;

use axum::Json;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret as _;

use super::cors;
use super::error::no_store;
use super::extract::{Budget, ClientIp, OAuthForm, client, request_context};
use crate::audit::RequestContext;
use crate::model::application::Application;
use crate::oauth::client_auth::{Accept, BodyCredentials};
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{TokenResponse, Wanted, authorization_code, client_credentials, refresh_token};
use crate::oauth::request::{RawTokenRequest, TokenRequest};
use crate::security::Services;
use crate::security::signin::password_grant as password;

pub async fn token(
    State(provider): State<Arc<Services>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    OAuthForm(raw): OAuthForm<RawTokenRequest>,
) -> Result<Response, OAuthError> {
    let body = BodyCredentials {
        id: raw.client_id.as_deref(),
        secret: raw.client_secret.as_deref(),
        assertion_type: raw.client_assertion_type.as_deref(),
        assertion: raw.client_assertion.as_deref(),
    };
    let app = client(&provider, &headers, body, Accept::Any, Budget::Client).await?;
    let ctx = request_context(peer, &headers);
    let mut response = match grant(&provider, &app, &raw, peer, &ctx).await {
        Ok(tokens) => {
            provider
                .metrics
                .token_issued(raw.grant_type.as_deref().unwrap_or_default());
            no_store(Json(tokens))
        }
        Err(e) => e.into_response(),
    };
    cors::allow(&app, &headers, &mut response);
    Ok(response)
}

async fn grant(
    provider: &Services,
    app: &Application,
    raw: &RawTokenRequest,
    ip: std::net::IpAddr,
    ctx: &RequestContext,
) -> Result<TokenResponse, OAuthError> {
    let resource = raw.resource.as_deref().filter(|r| !r.is_empty());
    match TokenRequest::try_from(raw)? {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let (redirect_uri, verifier) = (redirect_uri.as_deref(), code_verifier.as_deref());
            authorization_code::grant(provider, app, &code, redirect_uri, verifier, resource).await
        }
        TokenRequest::RefreshToken { refresh_token, scope } => {
            refresh_token::grant(provider, app, &refresh_token, Wanted { scope, resource }).await
        }
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let wanted = Wanted { scope, resource };
            password::grant(provider, app, &username, password.expose_secret(), wanted, ip, ctx).await
        }
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::grant(provider, app, Wanted { scope, resource }).await
        }
    }
}
