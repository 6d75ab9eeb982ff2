//! Which page an authorization request needs next (OpenID Connect Core §3.1.2.3–§3.1.2.4):
//! sign-in, consent, or the code — a pure decision over the request, the client, the browser's
//! session and the consent on record, unit-tested here.

use time::OffsetDateTime;

use super::AuthorizationRequest;
use crate::model::application::Application;
use crate::model::scope::Scope;
use crate::oauth::error::ErrorCode;
use crate::oauth::session::Session;

/// What the user must do before the client gets its code.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Login,
    Consent,
    /// Ready: issue the code.
    Issue,
}

/// Decides the next step for `request` given the browser's session (if any) and the consent
/// on record. `prompt=login` is satisfied once the user signed in for this request.
pub fn next_step(
    request: &AuthorizationRequest,
    app: &Application,
    session: Option<&Session>,
    consented: Option<&Scope>,
    now: OffsetDateTime,
) -> Result<Next, ErrorCode> {
    let needs_login = match session {
        None => true,
        Some(s) => {
            (request.prompt.login && !request.login_done)
                || request
                    .max_age
                    .is_some_and(|max| now.unix_timestamp() - s.auth_time > max)
                || request
                    .expected_sub
                    .as_ref()
                    .is_some_and(|sub| *sub != s.user_id.to_string())
        }
    };
    if needs_login {
        return if request.prompt.none {
            Err(ErrorCode::LoginRequired)
        } else {
            Ok(Next::Login)
        };
    }
    // Step-up: a request that accepts only a second factor, inside a session without one, signs
    // in again (the sign-in then asks for the factor, or to enrol one); if even that sign-in
    // brought none, the requirement cannot be met.
    if request.requires_second_factor && session.is_some_and(|s| !s.amr.iter().any(|m| m == "mfa")) {
        return match (request.prompt.none, request.login_done) {
            (true, _) => Err(ErrorCode::LoginRequired),
            (false, false) => Ok(Next::Login),
            (false, true) => Err(ErrorCode::UnmetAuthenticationRequirements),
        };
    }
    let scope = request.consent_scope();
    let needs_consent =
        !app.first_party && (request.prompt.consent || !consented.is_some_and(|c| c.contains_all(&scope)));
    if needs_consent {
        return if request.prompt.none {
            Err(ErrorCode::ConsentRequired)
        } else {
            Ok(Next::Consent)
        };
    }
    Ok(Next::Issue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::application::{ClientId, GrantType, SigningAlg};
    use crate::model::user::UserId;
    use crate::oauth::authorize::Prompt;

    fn app(first_party: bool) -> Application {
        let now = OffsetDateTime::UNIX_EPOCH;
        Application {
            client_id: ClientId::parse("web").unwrap(),
            name: "Web".into(),
            secret_hash: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scope::parse("openid offline_access").unwrap(),
            first_party,
            may_introspect: false,
            service_role: None,
            account_id: None,
            id_token_alg: SigningAlg::Rs256,
            access_token_ttl: None,
            refresh_token_ttl: None,
            enabled: true,
            resources: Vec::new(),
            token_permissions: true,
            settings: Default::default(),
            generation: 0,
            created_at: now,
            updated_at: now,
        }
    }

    fn request(scope: &str, prompt: Prompt) -> AuthorizationRequest {
        AuthorizationRequest {
            response_mode: super::super::ResponseMode::Query,
            claim_scopes: Scope::default(),
            requires_second_factor: false,
            client_id: ClientId::parse("web").unwrap(),
            redirect_uri: crate::model::redirect_uri::RedirectUri::parse("https://web.example/cb").unwrap(),
            redirect_uri_given: true,
            scope: Scope::parse(scope).unwrap(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age: None,
            login_hint: None,
            expected_sub: None,
            claims: None,
            login_done: false,
            resource: None,
            ui_locales: None,
            requested_at: 0,
        }
    }

    fn session(user: UserId, auth_time: i64) -> Session {
        Session {
            sid: "sid".into(),
            user_id: user,
            auth_time,
            amr: vec!["pwd".into()],
            created_at: auth_time,
            account: None,
            marks: Default::default(),
        }
    }

    const NOW: i64 = 1_000_000;
    const NONE: Prompt = Prompt {
        none: true,
        login: false,
        consent: false,
    };
    const LOGIN: Prompt = Prompt {
        none: false,
        login: true,
        consent: false,
    };
    const CONSENT: Prompt = Prompt {
        none: false,
        login: false,
        consent: true,
    };

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    #[test]
    fn no_session_means_login_and_prompt_none_means_an_error_instead_of_a_page() {
        let plain = request("openid", Prompt::default());
        assert_eq!(next_step(&plain, &app(true), None, None, at()), Ok(Next::Login));
        let silent = request("openid", NONE);
        assert_eq!(
            next_step(&silent, &app(true), None, None, at()),
            Err(ErrorCode::LoginRequired)
        );
    }

    #[test]
    fn prompt_login_max_age_and_another_user_ask_for_a_new_sign_in() {
        let user = UserId::generate();
        let s = session(user, NOW - 100);
        let login = request("openid", LOGIN);
        assert_eq!(next_step(&login, &app(true), Some(&s), None, at()), Ok(Next::Login));
        let mut done = login.clone();
        done.login_done = true;
        assert_eq!(next_step(&done, &app(true), Some(&s), None, at()), Ok(Next::Issue));
        let mut fresh = request("openid", Prompt::default());
        fresh.max_age = Some(60);
        assert_eq!(next_step(&fresh, &app(true), Some(&s), None, at()), Ok(Next::Login));
        fresh.max_age = Some(600);
        assert_eq!(next_step(&fresh, &app(true), Some(&s), None, at()), Ok(Next::Issue));
        let mut other = request("openid", Prompt::default());
        other.expected_sub = Some(UserId::generate().to_string());
        assert_eq!(next_step(&other, &app(true), Some(&s), None, at()), Ok(Next::Login));
    }

    #[test]
    fn a_request_for_a_second_factor_steps_a_password_session_up() {
        let s = session(UserId::generate(), NOW - 10);
        let mut asks = request("openid", Prompt::default());
        asks.requires_second_factor = true;
        assert_eq!(next_step(&asks, &app(true), Some(&s), None, at()), Ok(Next::Login));
        let mut strong = s.clone();
        strong.amr = vec!["pwd".into(), "mfa".into()];
        assert_eq!(next_step(&asks, &app(true), Some(&strong), None, at()), Ok(Next::Issue));
        asks.login_done = true;
        assert_eq!(
            next_step(&asks, &app(true), Some(&s), None, at()),
            Err(ErrorCode::UnmetAuthenticationRequirements),
            "signed in again and still no second factor"
        );
        let mut silent = request("openid", NONE);
        silent.requires_second_factor = true;
        assert_eq!(
            next_step(&silent, &app(true), Some(&s), None, at()),
            Err(ErrorCode::LoginRequired)
        );
    }

    #[test]
    fn third_parties_need_consent_for_new_scopes_and_prompt_consent() {
        let s = session(UserId::generate(), NOW - 10);
        let openid = Scope::parse("openid").unwrap();
        let asks = request("openid", Prompt::default());
        assert_eq!(next_step(&asks, &app(false), Some(&s), None, at()), Ok(Next::Consent));
        assert_eq!(
            next_step(&asks, &app(false), Some(&s), Some(&openid), at()),
            Ok(Next::Issue)
        );
        assert_eq!(
            next_step(&asks, &app(true), Some(&s), None, at()),
            Ok(Next::Issue),
            "first party"
        );
        let again = request("openid", CONSENT);
        assert_eq!(
            next_step(&again, &app(false), Some(&s), Some(&openid), at()),
            Ok(Next::Consent)
        );
        let offline = request("openid offline_access", Prompt::default());
        let all = Scope::parse("openid offline_access").unwrap();
        assert_eq!(
            next_step(&offline, &app(false), Some(&s), Some(&openid), at()),
            Ok(Next::Consent),
            "offline_access needs a consent that names it"
        );
        assert_eq!(
            next_step(&offline, &app(false), Some(&s), Some(&all), at()),
            Ok(Next::Issue),
            "a remembered consent that names offline_access stands (OpenID Connect Core §11)"
        );
        let silent = request("openid", NONE);
        assert_eq!(
            next_step(&silent, &app(false), Some(&s), None, at()),
            Err(ErrorCode::ConsentRequired)
        );
    }
}
