//! The resource owner password credentials grant (RFC 6749 §4.3), for applications that enable
//! it (legacy and first-party tools; RFC 9700 §2.4 advises against it otherwise). The same
//! password check as the login page: one answer for unknown users and wrong passwords.

use crate::audit::{AuditRecord, RequestContext};
use crate::model::application::{Application, GrantType};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::{self, TokenResponse, Wanted};
use crate::oauth::id_token;
use crate::oauth::refresh;
use crate::oauth::subject::{Authenticated, Proof, Subject};
use crate::security::Services;
use crate::security::ratelimit::{self, Bucket, Limited};
use crate::security::signin::{self, Origins, SignInError};

#[tracing::instrument(skip_all, fields(client.id = %app.client_id))]
pub async fn grant(
    provider: &Services,
    app: &Application,
    username: &str,
    password: &str,
    wanted: Wanted<'_>,
    ip: std::net::IpAddr,
    ctx: &RequestContext,
) -> Result<TokenResponse, OAuthError> {
    if app.is_public() || !app.allows_grant(GrantType::Password) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the password grant",
        ));
    }
    let scope = grant::within(wanted.scope, &app.scopes)?;
    let aud = grant::audience(provider, app, wanted.resource)?;
    // Password guesses through the grant are rationed per client address like the login form.
    let bucket = provider.limits.login.map(|rate| Bucket::ip("login", ip, rate));
    ratelimit::check_one(provider.state.as_ref(), bucket)
        .await
        .map_err(OAuthError::rate_limited)?;
    let from = Origins {
        ip,
        device: None,
        via: "password_grant",
        ctx,
    };
    let user = match signin::password(provider, username, password, from).await {
        Ok(signed_in) => signed_in.user,
        Err(SignInError::Invalid) => return Err(OAuthError::invalid_grant("invalid username or password")),
        Err(SignInError::Locked(lock)) => {
            let minutes = (lock.until - provider.clock.now()).whole_minutes() + 1;
            return Err(OAuthError::invalid_grant(format!(
                "too many failed attempts: sign-in is locked for {minutes} min"
            )));
        }
        Err(SignInError::Busy) => return Err(OAuthError::rate_limited(busy())),
        Err(SignInError::Store(e)) => return Err(e.into()),
    };
    // The password grant has no second step: users who need one sign in through the browser.
    if crate::security::signin::second_factor::need(provider, &user).await?
        != crate::security::signin::second_factor::Need::Nothing
    {
        return Err(OAuthError::invalid_grant(
            "this account signs in with a second factor: use the authorization code flow",
        ));
    }
    let now = provider.clock.now();
    let record = AuditRecord::login_succeeded(now, &user.id.to_string(), user.client_id, "password_grant", ctx);
    provider.metrics.login(true);
    provider.audit.record_or_log(record).await;
    let how = Authenticated {
        sid: None,
        auth_time: now.unix_timestamp(),
        amr: vec!["pwd".into()],
    };
    let (subject, user) =
        Subject::of_user(provider, app, user.id, Proof::Password(user.password_hash.clone()), how).await?;
    let family = if grant::wants_refresh(app, &scope) {
        Some(refresh::start_family(provider, &app.client_id, &scope, wanted.resource, subject.clone()).await?)
    } else {
        None
    };
    let (access_token, claims) = subject.access_token(
        provider,
        app,
        &scope,
        &aud,
        family.as_ref().map(|(_, f)| f.family.as_str()),
    )?;
    let refresh_token = family.map(|(token, _)| token);
    let id_token = id_token::issue(
        provider,
        app,
        &user,
        &subject,
        &scope,
        &access_token,
        Default::default(),
    )?;
    Ok(TokenResponse::new(access_token, &claims, refresh_token, id_token))
}

/// Another attempt on the account is being checked: come back in a second.
fn busy() -> Limited {
    Limited {
        policy: "signin",
        rate: crate::model::rate::Rate::new(1, time::Duration::seconds(1)),
        retry_after: time::Duration::seconds(1),
    }
}
