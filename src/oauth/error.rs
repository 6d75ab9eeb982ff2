//! Protocol errors with the codes the RFCs spell: RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
//! RFC 7009 §2.2.1, OpenID Connect Core §3.1.2.6.

use std::borrow::Cow;
use std::fmt;

/// An error code as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707 §2: the requested resource is unknown, not allowed, or more than one.
    InvalidTarget,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    /// OpenID Connect Unmet Authentication Requirements 1.0: the required `acr` cannot be met.
    UnmetAuthenticationRequirements,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }

    /// The HTTP status of this error on a direct (non-redirect) response.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// A protocol error: a code and a description safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// Set when a rate limit refused the request: answered 429 with `Retry-After`.
    pub limited: Option<Box<crate::model::rate::Limited>>,
    /// For `invalid_client`: the client authenticated in the body (`client_secret_post`, or a
    /// public client's id), so the answer is 400 without a `Basic` challenge (RFC 6749 §5.2:
    /// 401 and `WWW-Authenticate` only when the `Authorization` header was used).
    pub in_body: bool,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            limited: None,
            in_body: false,
        }
    }

    /// A rate limit refused the request (`temporarily_unavailable`, RFC 6749 §4.1.2.1, sent
    /// with 429 and `Retry-After`).
    pub fn rate_limited(limited: crate::model::rate::Limited) -> Self {
        Self {
            code: ErrorCode::TemporarilyUnavailable,
            description: format!("too many requests; retry after {} s", limited.retry_after_secs()).into(),
            limited: Some(Box::new(limited)),
            in_body: false,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// `invalid_client` for a client that authenticated in the request body.
    pub fn invalid_client_in_body() -> Self {
        Self {
            in_body: true,
            ..Self::invalid_client()
        }
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "the server could not complete the request")
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "a store is unavailable; try again shortly",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::model::StoreError> for OAuthError {
    fn from(e: crate::model::StoreError) -> Self {
        match e {
            crate::model::StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::server_error()
            }
        }
    }
}
