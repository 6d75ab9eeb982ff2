//! Request extraction for protocol endpoints: form bodies whose rejections are RFC errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use std::net::IpAddr;
use std::sync::Arc;

use crate::model::application::Application;
use crate::oauth::client_auth::{self, Accept, BodyCredentials, Presented};
use crate::oauth::error::OAuthError;
use crate::security::Services;
use crate::security::ratelimit::{self, Bucket};

/// True when the request says its body is `application/x-www-form-urlencoded`.
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2). Another content type, a body
/// over the size limit, a malformed body or a repeated parameter is `invalid_request`.
pub struct OAuthForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OAuthForm<T> {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthError> {
        if !is_form(req.headers()) {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::invalid_request("the body is too large or could not be read"))?;
        serde_urlencoded::from_bytes(&bytes).map(OAuthForm).map_err(|e| {
            let text = e.to_string();
            if text.contains("duplicate field `resource`") {
                // RFC 8707 §2: we issue a token for one resource at a time.
                OAuthError::new(
                    crate::oauth::error::ErrorCode::InvalidTarget,
                    "name at most one resource",
                )
            } else {
                OAuthError::invalid_request(format!("malformed form body: {text}"))
            }
        })
    }
}

/// The `Authorization` header as text, if any.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// Which rate budget a client's request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `RATE_LIMIT_CLIENT`: `/token`, `/revoke`.
    Client,
    /// `/introspect`: a gateway (an application with the introspect right) asks on behalf of
    /// every client, so it has its own, higher budget (`RATE_LIMIT_GATEWAY`).
    Introspection,
}

/// Authenticates the calling client from the `Authorization` header or the body's
/// `client_id` / `client_secret` (RFC 6749 §2.3.1).
pub async fn client(
    provider: &Services,
    headers: &HeaderMap,
    body: BodyCredentials<'_>,
    accept: Accept,
    budget: Budget,
) -> Result<Arc<Application>, OAuthError> {
    let presented = Presented::from_request(authorization(headers), body)?;
    let app = client_auth::authenticate(provider, &provider.client_keys, presented, accept).await?;
    // The console redeems and refreshes its codes inside the server: its application is no
    // client of /token, /par, /introspect or /revoke, so a code issued to it is worth nothing
    // to anyone who reads it in a log or a browser's history.
    if app.client_id.as_str() == crate::identity::admin::CONSOLE_CLIENT_ID {
        return Err(OAuthError::invalid_client());
    }
    let (policy, rate) = if budget == Budget::Introspection && app.may_introspect {
        ("gateway", provider.limits.gateway)
    } else {
        ("client", provider.limits.client)
    };
    let bucket = rate.map(|rate| Bucket::new(policy, app.client_id.as_str(), rate));
    // Machine traffic: counted in this node's memory, not with a Redis round trip per request.
    ratelimit::check_one(&provider.local_limits, bucket)
        .await
        .map_err(OAuthError::rate_limited)?;
    Ok(app)
}

/// The body of `/introspect` (RFC 7662 §2.1) and `/revoke` (RFC 7009 §2.1).
/// No `Debug`: it holds a token and a client secret.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    pub token: Option<String>,
    /// Accepted and not needed (RFC 7009 §2.1, RFC 7662 §2.1): every kind of token is
    /// recognised by its form.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl TokenForm {
    /// The `token` parameter, which both endpoints require.
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))
    }

    /// Authenticates the calling client.
    pub async fn client(
        &self,
        provider: &Services,
        headers: &HeaderMap,
        accept: Accept,
        budget: Budget,
    ) -> Result<Arc<Application>, OAuthError> {
        let body = BodyCredentials {
            id: self.client_id.as_deref(),
            secret: self.client_secret.as_deref(),
            assertion_type: self.client_assertion_type.as_deref(),
            assertion: self.client_assertion.as_deref(),
        };
        client(provider, headers, body, accept, budget).await
    }
}

/// Where a request came from, for the audit trail. The peer address is used as is until trusted
/// proxies are honoured (account-protection work).
pub fn request_context(ip: IpAddr, headers: &HeaderMap) -> crate::audit::RequestContext {
    crate::audit::RequestContext {
        ip: Some(ip.to_string()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// The client's address (see [`crate::security::client_ip`]): the socket peer, or what a
/// trusted proxy forwarded.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S> axum::extract::FromRequestParts<S> for ClientIp
where
    Arc<Services>: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let provider = <Arc<Services> as axum::extract::FromRef<S>>::from_ref(state);
        Ok(ClientIp(client_ip_of(parts, &provider)))
    }
}

/// The client address of a request (the peer is unknown only in unit tests without a socket).
pub fn client_ip_of(parts: &axum::http::request::Parts, provider: &Services) -> IpAddr {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    crate::security::client_ip::client_ip(peer, &parts.headers, &provider.trusted_proxies)
}
