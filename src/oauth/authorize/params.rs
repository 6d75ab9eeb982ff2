//! The parameters of an authorization request past the client and its redirect URI (RFC 6749
//! §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1): each checked by a pure function that
//! names the RFC error, so the rules are unit-tested without a server. The caller redirects a
//! refusal to the client with its `state`.

use super::{MAX_PARAM, RawAuthorizationRequest, ResponseMode};
use crate::model::scope::Scope;
use crate::oauth::error::ErrorCode;
use crate::oauth::pkce::CodeChallenge;

/// An RFC error code and its description.
pub(super) type Refusal = (ErrorCode, &'static str);

/// `response_type` must be `code`; `response_mode`, if given, `query` or `form_post`.
pub(super) fn response(raw: &RawAuthorizationRequest) -> Result<(), Refusal> {
    match raw.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => return Err((ErrorCode::InvalidRequest, "response_type is missing")),
        Some(_) => {
            return Err((
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if raw
        .response_mode
        .as_deref()
        .is_some_and(|m| ResponseMode::parse(m).is_none())
    {
        return Err((ErrorCode::InvalidRequest, "response_mode must be query or form_post"));
    }
    Ok(())
}

/// The requested scope: required, well formed, within what the client may have.
pub(super) fn scope(raw: &RawAuthorizationRequest, allowed: &Scope) -> Result<Scope, Refusal> {
    let scope = match raw.scope.as_deref().map(str::trim) {
        None | Some("") => return Err((ErrorCode::InvalidScope, "scope is required")),
        Some(s) => Scope::parse(s).map_err(|_| (ErrorCode::InvalidScope, "scope is malformed"))?,
    };
    if !allowed.contains_all(&scope) {
        return Err((
            ErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    Ok(scope)
}

/// The PKCE challenge (RFC 7636): S256 only, required of public clients.
pub(super) fn pkce(raw: &RawAuthorizationRequest, public: bool) -> Result<Option<CodeChallenge>, Refusal> {
    match (raw.code_challenge.as_deref(), raw.code_challenge_method.as_deref()) {
        (None, None) if public => Err((
            ErrorCode::InvalidRequest,
            "public clients must use PKCE (code_challenge with S256)",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err((
            ErrorCode::InvalidRequest,
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None) => Err((
            ErrorCode::InvalidRequest,
            "code_challenge_method is required and must be S256",
        )),
        (Some(_), Some(m)) if m != "S256" => Err((
            ErrorCode::InvalidRequest,
            "only the S256 code_challenge_method is supported",
        )),
        (Some(c), Some(_)) => CodeChallenge::parse(c)
            .map(Some)
            .ok_or((ErrorCode::InvalidRequest, "code_challenge is malformed")),
    }
}

/// What `prompt` asked for (OpenID Connect Core §3.1.2.1): `none` (no page may be shown), or
/// pages to show again even when a session and consent would do (`login`, `consent`).
/// `select_account` is accepted and needs nothing: a browser holds one session.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// `prompt`: known values only, and `none` alone.
pub(super) fn prompts(raw: &RawAuthorizationRequest) -> Result<Prompt, Refusal> {
    let values: Vec<&str> = raw
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if values
        .iter()
        .any(|p| !matches!(*p, "none" | "login" | "consent" | "select_account"))
    {
        return Err((ErrorCode::InvalidRequest, "prompt has an unknown value"));
    }
    let prompts = Prompt {
        none: values.contains(&"none"),
        login: values.contains(&"login"),
        consent: values.contains(&"consent"),
    };
    if prompts.none && values.len() > 1 {
        return Err((
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompts)
}

/// `max_age`: a non-negative number of seconds.
pub(super) fn max_age(raw: &RawAuthorizationRequest) -> Result<Option<i64>, Refusal> {
    match raw.max_age.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or((ErrorCode::InvalidRequest, "max_age must be a non-negative integer")),
    }
}

/// The `claims` request parameter (§5.5): a JSON object of bounded size.
pub(super) fn claims(raw: &RawAuthorizationRequest) -> Result<Option<serde_json::Value>, Refusal> {
    const REFUSAL: Refusal = (ErrorCode::InvalidRequest, "claims must be a JSON object");
    match raw.claims.as_deref() {
        None | Some("") => Ok(None),
        Some(s) if s.len() > MAX_PARAM => Err(REFUSAL),
        Some(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(value) if value.is_object() => Ok(Some(value)),
            _ => Err(REFUSAL),
        },
    }
}

/// `nonce` (bounded) and `login_hint` (bounded), empty ones as absent.
pub(super) fn nonce_and_hint(raw: &RawAuthorizationRequest) -> Result<(Option<String>, Option<String>), Refusal> {
    let nonce = raw.nonce.clone().filter(|n| !n.is_empty());
    let hint = raw.login_hint.clone().filter(|h| !h.is_empty());
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) || hint.as_ref().is_some_and(|h| h.len() > 256) {
        return Err((ErrorCode::InvalidRequest, "nonce or login_hint is too long"));
    }
    Ok((nonce, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(f: impl FnOnce(&mut RawAuthorizationRequest)) -> RawAuthorizationRequest {
        let mut raw = RawAuthorizationRequest {
            response_type: Some("code".into()),
            scope: Some("openid".into()),
            ..RawAuthorizationRequest::default()
        };
        f(&mut raw);
        raw
    }

    fn code(r: Result<impl std::fmt::Debug, Refusal>) -> Option<&'static str> {
        r.err().map(|(c, _)| c.as_str())
    }

    #[test]
    fn response_type_must_be_code_and_mode_query() {
        assert_eq!(code(response(&raw(|_| {}))), None);
        assert_eq!(
            code(response(&raw(|r| r.response_type = None))),
            Some("invalid_request")
        );
        let token = raw(|r| r.response_type = Some("token".into()));
        assert_eq!(code(response(&token)), Some("unsupported_response_type"));
        let fragment = raw(|r| r.response_mode = Some("fragment".into()));
        assert_eq!(code(response(&fragment)), Some("invalid_request"));
    }

    #[test]
    fn scopes_are_required_and_within_the_clients() {
        let allowed = Scope::parse("openid profile").unwrap();
        assert!(scope(&raw(|_| {}), &allowed).is_ok());
        assert_eq!(
            code(scope(&raw(|r| r.scope = Some(" ".into())), &allowed)),
            Some("invalid_scope")
        );
        let more = raw(|r| r.scope = Some("openid admin".into()));
        assert_eq!(code(scope(&more, &allowed)), Some("invalid_scope"));
        let malformed = raw(|r| r.scope = Some("open\"id".into()));
        assert_eq!(code(scope(&malformed, &allowed)), Some("invalid_scope"));
    }

    #[test]
    fn pkce_is_s256_only_and_required_of_public_clients() {
        let none = raw(|_| {});
        assert_eq!(code(pkce(&none, true)), Some("invalid_request"));
        assert!(pkce(&none, false).unwrap().is_none());
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let plain = raw(|r| {
            r.code_challenge = Some(challenge.into());
            r.code_challenge_method = Some("plain".into());
        });
        assert_eq!(code(pkce(&plain, true)), Some("invalid_request"));
        let no_method = raw(|r| r.code_challenge = Some(challenge.into()));
        assert_eq!(code(pkce(&no_method, true)), Some("invalid_request"));
        let s256 = raw(|r| {
            r.code_challenge = Some(challenge.into());
            r.code_challenge_method = Some("S256".into());
        });
        assert!(pkce(&s256, true).unwrap().is_some());
        let short = raw(|r| {
            r.code_challenge = Some("short".into());
            r.code_challenge_method = Some("S256".into());
        });
        assert_eq!(code(pkce(&short, true)), Some("invalid_request"));
    }

    #[test]
    fn prompts_are_known_values_and_none_stands_alone() {
        let both = raw(|r| r.prompt = Some("login consent".into()));
        assert_eq!(
            prompts(&both).unwrap(),
            Prompt {
                none: false,
                login: true,
                consent: true
            }
        );
        assert_eq!(
            code(prompts(&raw(|r| r.prompt = Some("none login".into())))),
            Some("invalid_request")
        );
        assert_eq!(
            code(prompts(&raw(|r| r.prompt = Some("sometimes".into())))),
            Some("invalid_request")
        );
        assert!(prompts(&raw(|r| r.prompt = Some("none".into()))).unwrap().none);
    }

    #[test]
    fn max_age_claims_nonce_and_hint_are_bounded() {
        assert_eq!(max_age(&raw(|r| r.max_age = Some("0".into()))).unwrap(), Some(0));
        assert_eq!(
            code(max_age(&raw(|r| r.max_age = Some("-1".into())))),
            Some("invalid_request")
        );
        assert_eq!(
            code(max_age(&raw(|r| r.max_age = Some("soon".into())))),
            Some("invalid_request")
        );
        assert!(
            claims(&raw(|r| r.claims = Some(r#"{"userinfo":{}}"#.into())))
                .unwrap()
                .is_some()
        );
        assert_eq!(
            code(claims(&raw(|r| r.claims = Some("[1]".into())))),
            Some("invalid_request")
        );
        let huge = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_PARAM));
        assert_eq!(code(claims(&raw(|r| r.claims = Some(huge)))), Some("invalid_request"));
        let long = raw(|r| r.login_hint = Some("h".repeat(257)));
        assert_eq!(code(nonce_and_hint(&long)), Some("invalid_request"));
        assert_eq!(
            nonce_and_hint(&raw(|r| r.nonce = Some(String::new()))).unwrap(),
            (None, None)
        );
    }
}
