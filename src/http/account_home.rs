//! `/account`: the signed-in browser's own account, for people rather than programs: the
//! profile (name, the language of mails and SMS, and email and phone — a new one waits for the
//! code sent to it), the password, a link to the second factors (`/account/security`), the
//! signed-in browsers with "sign out", and the account's recent security events. The same
//! services and checks as `/account/v1`: a new email, phone or password needs fresh proof.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::account_page::signed_in;
use super::browser::{checked_form, csrf_token, error_page, limit_code, page};
use super::extract::ClientIp;
use super::ui::Ui;
use crate::http::AppState;
use crate::i18n::{Lang, Texts};
use crate::identity::account_self::{self, Channel, Offered, ProfileChange, SelfService, SignedIn, VerifyError};
use crate::identity::admin::AdminError;
use crate::model::audit::{Outcome, StoredAudit};
use crate::model::password;
use crate::model::user::User;
use crate::security::session::Session;

/// How many security events the page shows.
const EVENTS: i64 = 15;

pub struct SessionView {
    sid: String,
    label: String,
    /// The sign-out button's accessible name.
    button: String,
    current: bool,
}

pub struct EventView {
    when: String,
    what: String,
    from: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    ui: &'a Ui,
    csrf: &'a str,
    error: Option<&'a str>,
    message: Option<&'a str>,
    username: &'a str,
    name: &'a str,
    email: &'a str,
    email_verified: bool,
    phone: &'a str,
    phone_verified: bool,
    /// `(code, name, chosen)` of each language mails and SMS may be in.
    locales: Vec<(&'static str, &'static str, bool)>,
    /// No language chosen: the service's default.
    default_locale: bool,
    /// `(channel, value, prompt, label)` of each new email or phone waiting for its code.
    pending: Vec<(&'static str, String, String, String)>,
    password_label: &'a str,
    min: usize,
    has_factor: bool,
    sessions: Vec<SessionView>,
    events: Vec<EventView>,
}

/// What the page says besides the account: its status, an error or a message.
#[derive(Default)]
struct Said {
    status: StatusCode,
    error: Option<String>,
    message: Option<&'static str>,
}

impl Said {
    fn done(message: &'static str) -> Option<Self> {
        Some(Self {
            message: Some(message),
            ..Self::default()
        })
    }

    fn refused(status: StatusCode, error: impl Into<String>) -> Option<Self> {
        Some(Self {
            status,
            error: Some(error.into()),
            ..Self::default()
        })
    }
}

/// The words for an audited action on the user's own account.
fn event_words(t: &Texts, action: &str) -> &'static str {
    match action {
        "login" => t.ev_login,
        "logout" | "backchannel_logout" => t.ev_logout,
        "lock" => t.ev_lock,
        "consent" => t.ev_consent,
        "password.change" => t.ev_password_change,
        "password.reset" => t.ev_password_reset,
        "password.reset_requested" => t.ev_password_reset_requested,
        "profile.update" => t.ev_profile_update,
        "session.revoke" => t.ev_session_revoke,
        "mfa.enrol" => t.ev_mfa_enrol,
        "mfa.remove" => t.ev_mfa_remove,
        "mfa.recovery_codes" => t.ev_mfa_recovery,
        "verify" => t.ev_verify,
        a if a.starts_with("user.") => t.ev_admin,
        _ => t.ev_other,
    }
}

/// The user's own recent events: those they did and those done to them, newest first.
async fn events(state: &AppState, ui: &Ui, user: &User) -> Vec<EventView> {
    let id = user.id.to_string();
    let mine = id.clone();
    let by = crate::store::AuditFilter {
        actor_id: Some(id.clone()),
        ..Default::default()
    };
    let to = crate::store::AuditFilter {
        target_id: Some(id),
        ..Default::default()
    };
    let db = state.stores.db.as_ref();
    let (by, to) = tokio::join!(db.audit_search(&by, EVENTS), db.audit_search(&to, EVENTS));
    // Done to the user: only records about a user (a role named like the user's id is not).
    let to = to
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.record.target_type.as_deref() == Some("user"));
    let mut rows: Vec<StoredAudit> = by.unwrap_or_default().into_iter().chain(to).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    rows.dedup_by_key(|r| r.id);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    rows.into_iter()
        .take(EVENTS as usize)
        .map(|r| {
            let outcome = match r.record.outcome {
                Outcome::Success => "",
                Outcome::Failure => ui.outcome_failure,
                Outcome::Denied => ui.outcome_denied,
            };
            let what = event_words(ui, &r.record.action);
            EventView {
                when: r.record.occurred_at.format(&format).unwrap_or_default(),
                what: if outcome.is_empty() {
                    what.to_owned()
                } else {
                    format!("{what} {outcome}")
                },
                // Where an administrator acted from is not the user's to see.
                from: if r.record.actor_id.as_deref() == Some(mine.as_str()) {
                    r.record.ip.unwrap_or_else(|| ui.from_unknown.to_owned())
                } else {
                    ui.from_administrator.to_owned()
                },
            }
        })
        .collect()
}

async fn render(state: &AppState, ui: &Ui, headers: &HeaderMap, signed: &Session, said: Said) -> Response {
    let svc = super::account::service(state, std::net::Ipv4Addr::UNSPECIFIED.into(), headers);
    let sub = signed.user_id.to_string();
    let (user, sids, factors) = tokio::join!(
        svc.me(&sub),
        svc.sessions(&sub),
        state.stores.db.list_factors(signed.user_id)
    );
    let (Ok(user), Ok(sids), Ok(factors)) = (user, sids, factors) else {
        return error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    };
    let mut pending = Vec::new();
    for channel in [Channel::Email, Channel::Phone] {
        if let Ok(Some(value)) = svc.pending(&user, channel).await {
            let prompt = ui.fill(ui.pending_contact, &[("value", &value)]);
            let label = ui.fill(ui.code_sent_to, &[("value", &value)]);
            pending.push((channel.field(), value, prompt, label));
        }
    }
    let sessions = sids
        .into_iter()
        .map(|sid| {
            let short: String = sid.chars().take(8).collect();
            SessionView {
                label: ui.fill(ui.session_label, &[("id", &short)]),
                button: ui.fill(ui.end_session_label, &[("id", &short)]),
                current: sid == signed.sid,
                sid,
            }
        })
        .collect();
    let events = events(state, ui, &user).await;
    let (csrf, set) = csrf_token(state, headers);
    let password_label = ui.fill(ui.new_password_label, &[("min", &password::MIN_CHARS.to_string())]);
    let view = AccountPage {
        ui,
        csrf: &csrf,
        error: said.error.as_deref(),
        message: said.message,
        username: user.username.as_str(),
        name: user.name.as_deref().unwrap_or_default(),
        email: user.email.as_ref().map(|e| e.as_str()).unwrap_or_default(),
        email_verified: user.email_verified,
        phone: user.phone.as_ref().map(|p| p.as_str()).unwrap_or_default(),
        phone_verified: user.phone_verified,
        locales: Lang::ALL
            .iter()
            .map(|l| (l.as_str(), l.native_name(), user.profile.language() == Some(l.as_str())))
            .collect(),
        default_locale: user.profile.language().and_then(Lang::parse).is_none(),
        pending,
        password_label: &password_label,
        min: password::MIN_CHARS,
        has_factor: factors.iter().any(|f| f.is_confirmed()),
        sessions,
        events,
    };
    page(said.status, &view, set.as_slice())
}

pub async fn show(State(state): State<AppState>, ui: Ui, headers: HeaderMap) -> Response {
    match signed_in(&state, &ui, &headers).await {
        Ok(s) => render(&state, &ui, &headers, &s, Said::default()).await,
        Err(page) => page,
    }
}

/// No `Debug`: passwords and codes.
#[derive(Deserialize)]
pub struct AccountForm {
    csrf: Option<String>,
    action: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    locale: Option<String>,
    channel: Option<String>,
    code: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    otp: Option<String>,
    sid: Option<String>,
    /// The browser's verified known-device id (from its cookie, not the form).
    #[serde(skip)]
    device: Option<String>,
}

impl AccountForm {
    fn offered(&self) -> Offered {
        Offered::typed(self.current_password.as_deref(), self.otp.as_deref()).in_browser(self.device.clone())
    }

    fn channel(&self) -> Option<Channel> {
        self.channel.as_deref().and_then(Channel::parse)
    }
}

/// What the page says of a refused change; `None` for a failure of the service itself.
fn refusal(ui: &Ui, e: AdminError) -> Option<Said> {
    let bad = StatusCode::BAD_REQUEST;
    match e {
        AdminError::StepUp(_) | AdminError::Forbidden(_) => Said::refused(StatusCode::UNAUTHORIZED, ui.step_up_needed),
        AdminError::Invalid { field: "email", .. } => Said::refused(bad, ui.invalid_email),
        AdminError::Invalid { field: "phone", .. } => Said::refused(bad, ui.invalid_phone),
        AdminError::Invalid { field: "name", .. } => Said::refused(bad, ui.invalid_name),
        AdminError::Invalid { message, .. } => Said::refused(bad, ui.fill(ui.invalid_value, &[("detail", &message)])),
        refused @ AdminError::Conflict(_) if account_self::is_factor_required(&refused) => {
            Said::refused(StatusCode::CONFLICT, ui.contact_factor_required)
        }
        AdminError::Conflict(_) => Said::refused(StatusCode::CONFLICT, ui.email_taken),
        AdminError::NotFound(_) => Said::refused(bad, ui.no_session),
        AdminError::Hashing | AdminError::Store(_) => None,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ui: Ui,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(mut form): Form<AccountForm>,
) -> Response {
    let ui = &ui;
    if let Err(refused) = checked_form(&state, ui, ip, &headers, form.csrf.as_deref()).await {
        return refused;
    }
    form.device = super::browser::device_id(&state, &headers);
    let signed = match signed_in(&state, ui, &headers).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let svc = super::account::service(&state, ip, &headers);
    let sub = signed.user_id.to_string();
    let said = match (form.action.as_deref(), form.channel()) {
        (Some("profile"), _) => match profile(&state, &svc, &signed, &form).await {
            Ok(pending) => {
                // A new email or phone gets its code at once (resent from the page if needed).
                for (channel, value) in [(Channel::Email, &pending.email), (Channel::Phone, &pending.phone)] {
                    if value.is_some()
                        && let Err(e) = svc.send_verification(&sub, channel, &state.provider.notifier).await
                    {
                        tracing::warn!(error = %e, "a verification code could not be sent");
                    }
                }
                Said::done(ui.profile_saved)
            }
            Err(e) => refusal(ui, e),
        },
        (Some("send_code"), Some(channel)) => send_code(ui, &state, &svc, &sub, channel).await,
        (Some("confirm_code"), Some(channel)) => {
            if let Err(limited) = limit_code(&state, ip).await {
                let message = ui.fill(ui.too_many_codes, &[("wait", &ui.wait(limited.retry_after_secs()))]);
                return error_page(ui, StatusCode::TOO_MANY_REQUESTS, &message);
            }
            let code = form.code.as_deref().unwrap_or_default();
            match svc.confirm_verification(&state.provider, &sub, channel, code).await {
                Ok(_) => Said::done(ui.contact_confirmed),
                Err(AdminError::Invalid { .. } | AdminError::NotFound(_)) => {
                    Said::refused(StatusCode::BAD_REQUEST, ui.code_invalid)
                }
                Err(e) => refusal(ui, e),
            }
        }
        (Some("password"), _) => match change_password(&state, ui, &svc, &signed, &form).await {
            Ok(page) => return page,
            Err(said) => said,
        },
        (Some("end_session"), _) => {
            let sid = form.sid.as_deref().unwrap_or_default();
            match svc.end_session(&sub, sid).await {
                Ok(()) if sid == signed.sid => {
                    return super::browser::message_page(ui, ui.signed_out_title, ui.signed_out, &[]);
                }
                Ok(()) => Said::done(ui.session_ended),
                Err(e) => refusal(ui, e),
            }
        }
        _ => return error_page(ui, StatusCode::BAD_REQUEST, ui.unknown_action),
    };
    match said {
        Some(said) => render(&state, ui, &headers, &signed, said).await,
        None => error_page(ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    }
}

/// Saves the profile form; a new email or phone needs fresh proof and then waits for its code.
async fn profile(
    state: &AppState,
    svc: &SelfService<'_>,
    s: &Session,
    form: &AccountForm,
) -> Result<crate::identity::account_self::Pending, AdminError> {
    let me = svc.me(&s.user_id.to_string()).await?;
    let differs = |new: &Option<String>, old: Option<&str>| {
        new.as_deref()
            .map(str::trim)
            .is_some_and(|n| n != old.unwrap_or_default())
    };
    let email_changes = differs(&form.email, me.email.as_ref().map(|e| e.as_str()));
    let phone_changes = differs(&form.phone, me.phone.as_ref().map(|p| p.as_str()));
    if email_changes || phone_changes {
        svc.fresh_proof(&state.provider, &me, &SignedIn::of(s), &form.offered(), false)
            .await?;
    }
    let locale = match form.locale.as_deref().and_then(Lang::parse) {
        Some(lang) => serde_json::Value::String(lang.as_str().to_owned()),
        None => serde_json::Value::Null,
    };
    let trimmed = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
    let change = ProfileChange {
        name: form
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty() && Some(*n) != me.name.as_deref())
            .map(str::to_owned),
        email: email_changes.then(|| trimmed(&form.email)),
        phone: phone_changes.then(|| trimmed(&form.phone)),
        profile: Some(serde_json::Map::from_iter([("locale".to_owned(), locale)])),
    };
    svc.update_profile(&state.provider, &me.id.to_string(), change)
        .await
        .map(|(_, pending)| pending)
}

/// Sends the code for a pending email or phone again.
async fn send_code(ui: &Ui, state: &AppState, svc: &SelfService<'_>, sub: &str, channel: Channel) -> Option<Said> {
    match svc.send_verification(sub, channel, &state.provider.notifier).await {
        Ok(()) => Said::done(ui.code_sent_again),
        Err(VerifyError::Admin(e)) => refusal(ui, e),
        Err(VerifyError::Otp(crate::security::signin::otp::SendError::Cooldown(secs))) => Said::refused(
            StatusCode::TOO_MANY_REQUESTS,
            ui.fill(ui.code_cooldown, &[("wait", &ui.wait(secs))]),
        ),
        Err(VerifyError::Otp(_)) => Said::refused(StatusCode::TOO_MANY_REQUESTS, ui.code_budget),
        Err(VerifyError::Notify(e)) => {
            tracing::warn!(error = %e, "a verification code could not be sent");
            Said::refused(StatusCode::SERVICE_UNAVAILABLE, ui.code_not_sent)
        }
    }
}

/// Changes the password (the current one always, and a code for users with a second factor
/// and no fresh sign-in with it); every session ends, this browser's too: the page that says
/// so, or what to say on the account page.
async fn change_password(
    state: &AppState,
    ui: &Ui,
    svc: &SelfService<'_>,
    s: &Session,
    form: &AccountForm,
) -> Result<Response, Option<Said>> {
    let sub = s.user_id.to_string();
    let me = svc.me(&sub).await.map_err(|e| refusal(ui, e))?;
    svc.fresh_proof(&state.provider, &me, &SignedIn::of(s), &form.offered(), true)
        .await
        .map_err(|e| refusal(ui, e))?;
    let new = form.new_password.as_deref().unwrap_or_default();
    let email = me.email.as_ref().map(|e| e.as_str());
    if let Err(w) = password::Password::checked_for(new, me.username.as_str(), email) {
        return Err(Said::refused(StatusCode::BAD_REQUEST, super::reset::weakness(ui, w)));
    }
    svc.change_password(&sub, new, state.provider.bcrypt_cost)
        .await
        .map_err(|e| refusal(ui, e))?;
    let https = state.config.is_https();
    let name = crate::security::session::cookie_name(https);
    let gone = crate::security::session::set_cookie(name, "", https, time::Duration::ZERO);
    Ok(super::browser::message_page(
        ui,
        ui.password_changed_title,
        ui.password_changed,
        &[gone],
    ))
}
