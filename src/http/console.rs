//! `/console`: the admin console, server-rendered pages for staff and for each B2B account's
//! own administrators. It is an OAuth client of Propusk itself: the first-party public
//! application `propusk-console` (registered at first start), signed in through the
//! authorization code flow with PKCE, its tokens held on the server (sealed with the master key,
//! under the digest of a random cookie) and refreshed as they expire. Every page asks the same
//! question `/admin/v1` asks of a bearer token ([`authorized_token`] with [`Api::Admin`]), and
//! every action goes through the same services ([`AdminServices`]) with the same permission
//! checks and audit records. Forms carry the CSRF token; destructive actions ask first; the
//! pages need no script.

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod users;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::bearer::{Api, authorized_token};
use super::browser::{browser_binding, browser_cookie, cookie, csrf_ok, csrf_token, error_page, page, redirect};
use super::extract::{client_ip_of, request_context};
use super::ui::Ui;
use crate::audit::RequestContext;
use crate::crypto::{digest, random_token, sealed, sha256};
use crate::http::AppState;
use crate::identity::admin::principal::Principal;
use crate::identity::admin::services::AdminServices;
use crate::identity::admin::{AdminError, CONSOLE_CLIENT_ID};
use crate::model::application::{Application, ClientId};
use crate::oauth::grant::{TokenResponse, Wanted, authorization_code, refresh_token};
use crate::store::hot::Key;

/// How long a console sign-in lasts at most (its tokens are refreshed within it).
const SESSION: Duration = Duration::hours(12);
/// How long a sign-in may take between leaving for `/authorize` and coming back.
const SIGN_IN: Duration = Duration::minutes(10);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/login", get(login))
        .route("/console/callback", get(callback))
        .route("/console/logout", post(logout))
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/new", get(users::new_form))
        .route("/console/users/{id}", get(users::show).post(users::act))
        .route("/console/accounts", get(accounts::list).post(accounts::create))
        .route("/console/accounts/{id}", get(accounts::show).post(accounts::act))
        .route(
            "/console/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/console/applications/{id}",
            get(applications::show).post(applications::act),
        )
        .route("/console/roles", get(accounts::roles).post(accounts::role_act))
        .route("/console/audit", get(audit::list))
}

/// The console's cookie: a random value whose digest names the held tokens.
fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-propusk-console"
    } else {
        "propusk_console"
    }
}

/// What the server holds for a signed-in console: the tokens, sealed at rest.
#[derive(Serialize, Deserialize)]
struct Held {
    access_token: String,
    refresh_token: Option<String>,
    /// The refresh-token family: signing out revokes it whole, whichever of its tokens is
    /// current by then (a refresh racing the sign-out cannot keep it alive).
    family: Option<String>,
    username: String,
    /// When the console sign-in ends, whatever its tokens say (unix seconds).
    until: i64,
}

/// A sign-in in flight: the PKCE verifier, where to go back to, and the browser it began in.
#[derive(Serialize, Deserialize)]
struct Flight {
    verifier: String,
    next: String,
    browser: String,
}

/// Which sections the signed-in administrator may open.
#[derive(Clone)]
pub struct Chrome {
    pub csrf: String,
    pub signed_in: String,
    pub section: &'static str,
    pub users: bool,
    pub accounts: bool,
    /// An account's admins: their own account's page.
    pub own_account: Option<String>,
    pub applications: bool,
    pub roles: bool,
    pub audit: bool,
    pub error: Option<String>,
    pub message: Option<String>,
}

/// A console request from a signed-in administrator: who, in which language, and the services.
pub struct ConsoleRequest {
    pub state: AppState,
    pub ui: Ui,
    pub who: Principal,
    ctx: RequestContext,
    pub chrome: Chrome,
    cookies: Vec<String>,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for ConsoleRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(ui) = Ui::from_request_parts(parts, state).await;
        let path = parts.uri.path().to_owned();
        let to_login = || redirect(&format!("/console/login?next={}", encode(&path)), &[]);
        let https = state.config.is_https();
        let Some(value) = cookie(&parts.headers, cookie_name(https)) else {
            return Err(to_login());
        };
        let hot = &state.stores.state;
        let key = Key::ConsoleSession(&value);
        let held = match hot.get(key).await {
            Ok(Some(bytes)) => open(state, &value, &bytes),
            Ok(None) => None,
            Err(_) => return Err(error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)),
        };
        let Some(mut held) = held else {
            return Err(to_login());
        };
        let now = state.clock.now();
        let bearer = match authorized_token(&state.provider, &held.access_token, Api::Admin).await {
            Ok(bearer) => bearer,
            Err(refused) if refused.status() == StatusCode::UNAUTHORIZED => {
                // Expired or revoked: a refresh tells which (a revoked family refuses it).
                let Some(tokens) = refresh(state, &held).await else {
                    let _ = hot.delete(key).await;
                    return Err(to_login());
                };
                held.access_token = tokens.access_token;
                held.refresh_token = tokens.refresh_token.or(held.refresh_token);
                let until = OffsetDateTime::from_unix_timestamp(held.until).unwrap_or(now);
                if let Some(bytes) = seal(state, &value, &held) {
                    let _ = hot.put(key, &bytes, until).await;
                }
                authorized_token(&state.provider, &held.access_token, Api::Admin)
                    .await
                    .map_err(|_| to_login())?
            }
            Err(_) => return Err(error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable)),
        };
        let who = Principal::from_claims(&bearer.claims);
        if let Err(limited) = super::admin::budget(state, &who).await {
            let message = ui.fill(
                ui.too_many_from_network,
                &[("wait", &ui.wait(limited.retry_after_secs()))],
            );
            let mut response = error_page(&ui, StatusCode::TOO_MANY_REQUESTS, &message);
            response.headers_mut().extend(limited.headers());
            return Err(response);
        }
        let ip = client_ip_of(parts, &state.provider);
        let ctx = request_context(ip, &parts.headers);
        let (csrf, set) = csrf_token(state, &parts.headers);
        let chrome = chrome(&ui, &who, &held.username, csrf);
        Ok(Self {
            state: state.clone(),
            ui,
            who,
            ctx,
            chrome,
            cookies: set.into_iter().collect(),
            headers: parts.headers.clone(),
        })
    }
}

fn chrome(ui: &Ui, who: &Principal, username: &str, csrf: String) -> Chrome {
    let staff = who.account.is_none();
    let may = |wanted: &str| who.check(wanted, who.account).is_ok();
    Chrome {
        csrf,
        signed_in: ui.fill(ui.c_signed_in_as, &[("name", username)]),
        section: "home",
        users: may("users:read"),
        accounts: staff && may("clients:read"),
        own_account: who.account.map(|a| a.to_string()),
        applications: staff && may("applications:read"),
        roles: staff && may("roles:read"),
        audit: may("audit:read"),
        error: None,
        message: None,
    }
}

impl ConsoleRequest {
    /// The administration services, acting for this request.
    pub fn admin(&self) -> AdminServices<'_> {
        super::admin::services(&self.state, self.ctx.clone())
    }

    /// The page chrome with `section` marked as current.
    pub fn at(&self, section: &'static str) -> Chrome {
        Chrome {
            section,
            ..self.chrome.clone()
        }
    }

    /// Renders `template` with `status`, setting the CSRF cookie when new.
    pub fn show(&self, status: StatusCode, template: &impl Template) -> Response {
        page(status, template, &self.cookies)
    }

    /// The page saying the form expired, unless the form's CSRF token matches this browser's.
    pub fn forged(&self, csrf: Option<&str>) -> Option<Response> {
        (!csrf_ok(&self.state, &self.headers, csrf))
            .then(|| error_page(&self.ui, StatusCode::FORBIDDEN, self.ui.form_expired))
    }

    /// Puts a refusal on the page: its status and words.
    pub fn refused(&mut self, error: AdminError) -> StatusCode {
        let (status, words) = refusal(&self.ui, error);
        self.chrome.error = Some(words);
        status
    }

    /// Puts a message on the page (the `done` of a redirect after an action).
    pub fn said(&mut self, done: Option<&str>) {
        self.chrome.message = done.and_then(|d| done_words(&self.ui, d)).map(str::to_owned);
    }
}

/// An admin service's refusal as a status and words in the page's language.
pub fn refusal(ui: &Ui, error: AdminError) -> (StatusCode, String) {
    match error {
        AdminError::Invalid { field, message } => (
            StatusCode::BAD_REQUEST,
            ui.fill(ui.c_invalid, &[("field", field), ("detail", &message)]),
        ),
        AdminError::Forbidden(reason) => (StatusCode::FORBIDDEN, ui.fill(ui.c_forbidden, &[("detail", &reason)])),
        AdminError::NotFound(_) => (StatusCode::NOT_FOUND, ui.c_not_found.to_owned()),
        AdminError::Conflict(what) => (StatusCode::CONFLICT, ui.fill(ui.c_conflict, &[("detail", &what)])),
        AdminError::Store(crate::store::StoreError::Conflict { .. }) => {
            (StatusCode::CONFLICT, ui.c_changed_meanwhile.to_owned())
        }
        AdminError::StepUp(_) | AdminError::Hashing => {
            (StatusCode::INTERNAL_SERVER_ERROR, ui.something_wrong.to_owned())
        }
        AdminError::Store(e) => {
            tracing::warn!(error = %e, "console: store error");
            (StatusCode::SERVICE_UNAVAILABLE, ui.unavailable.to_owned())
        }
    }
}

/// The words of an action's outcome, named in the redirect after it (`?done=blocked`).
fn done_words(ui: &Ui, done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => ui.c_done_saved,
        "created" => ui.c_done_created,
        "blocked" => ui.c_done_blocked,
        "unblocked" => ui.c_done_unblocked,
        "unlocked" => ui.c_done_unlocked,
        "factors" => ui.c_done_factors,
        "signed_out" => ui.c_done_signed_out,
        "deleted" => ui.c_done_deleted,
        "role" => ui.c_done_role,
        "granted" => ui.c_done_granted,
        "revoked" => ui.c_done_revoked,
        _ => return None,
    })
}

/// `?done=…` of a page shown after an action.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// The page asking before a destructive action: the same form again, with `confirmed=yes`.
#[derive(Template)]
#[template(path = "console/confirm.html")]
pub struct ConfirmPage<'a> {
    pub ui: &'a Ui,
    pub c: &'a Chrome,
    pub title: &'a str,
    pub question: String,
    pub action: String,
    pub fields: Vec<(&'static str, String)>,
    pub back: String,
}

/// `path` with the non-empty `params` as its query.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// The associated data of a console's sealed tokens: bound to its cookie, so a sealed value
/// moved under another cookie's key does not open.
fn sealed_for(cookie: &str) -> String {
    format!("console-session:{}", digest(cookie))
}

fn seal(state: &AppState, cookie: &str, held: &Held) -> Option<Vec<u8>> {
    let json = serde_json::to_vec(held).ok()?;
    sealed::seal(&state.provider.seal_key, &sealed_for(cookie), &json).ok()
}

fn open(state: &AppState, cookie: &str, bytes: &[u8]) -> Option<Held> {
    let json = sealed::open(&state.provider.seal_key, &sealed_for(cookie), bytes).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Ends the console sign-in held under `cookie`: its refresh family is revoked (with every
/// access token it produced) and the record forgotten.
async fn end(state: &AppState, cookie: &str) {
    let hot = &state.stores.state;
    let key = Key::ConsoleSession(cookie);
    if let Ok(Some(bytes)) = hot.get(key).await
        && let Some(held) = open(state, cookie, &bytes)
    {
        if let Some(family) = held.family.as_deref() {
            let until = state.clock.now() + crate::oauth::refresh::ABSOLUTE;
            if let Err(e) = crate::oauth::refresh::revoke_family_id(state.oauth.state.as_ref(), family, until).await {
                tracing::warn!(error = %e, "console: the sign-out could not revoke its tokens");
            }
        }
        if let Ok(claims) = state.provider.access_claims(&held.access_token) {
            let _ = crate::oauth::revocation::deny_token(state.oauth.state.as_ref(), &claims).await;
        }
    }
    let _ = hot.delete(key).await;
}

/// The console's application as it is now (`None`: disabled, or the store is unavailable). The
/// start registers it in the background; asked for before that, it is registered here.
async fn console_app(state: &AppState) -> Option<std::sync::Arc<Application>> {
    let id = ClientId::parse(CONSOLE_CLIENT_ID).ok()?;
    if let Some(app) = state.provider.clients.application(&id).await.ok()? {
        return Some(app);
    }
    let db = state.stores.db.as_ref();
    match db.find_application(&id).await.ok()? {
        Some(stored) if !stored.enabled => return None,
        // Registered since this node cached its absence.
        Some(_) => {}
        None => crate::identity::admin::ensure_console_application(db, state.clock.as_ref(), state.config.issuer_str())
            .await
            .ok()?,
    }
    state.provider.clients.forget_application(&id);
    state.provider.clients.application(&id).await.ok()?
}

fn callback_uri(state: &AppState) -> String {
    format!("{}/console/callback", state.config.issuer_str())
}

async fn refresh(state: &AppState, held: &Held) -> Option<TokenResponse> {
    let token = held.refresh_token.as_deref()?;
    if state.clock.now().unix_timestamp() >= held.until {
        return None;
    }
    let app = console_app(state).await?;
    let wanted = Wanted {
        scope: None,
        resource: None,
    };
    refresh_token::grant(&state.provider, &app, token, wanted).await.ok()
}

/// Where to go back to after signing in: a console page, nothing else — `/console` and path
/// segments of letters, digits, `-` and `_` (no dot segments, no escapes).
fn console_path(next: Option<&str>) -> String {
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match next {
        Some(n)
            if n == "/console"
                || n.strip_prefix("/console/")
                    .is_some_and(|rest| rest.split('/').all(plain)) =>
        {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /console/login`: begins the authorization code flow with PKCE, bound to this browser.
pub async fn login(
    State(state): State<AppState>,
    ui: Ui,
    super::extract::ClientIp(ip): super::extract::ClientIp,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    // Each start keeps a record for ten minutes: rationed like the sign-in forms.
    if let Err(limited) = super::browser::limit_form(&state, &ui, ip).await {
        return limited;
    }
    if console_app(&state).await.is_none() {
        return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.c_console_off);
    }
    let (browser, set) = browser_binding(&state, &headers);
    let flight_id = random_token::<16>();
    let verifier = random_token::<32>();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
    let flight = Flight {
        verifier,
        next: console_path(q.next.as_deref()),
        browser: digest(&browser),
    };
    let until = state.clock.now() + SIGN_IN;
    if state
        .stores
        .state
        .put_record(Key::ConsoleSignIn(&flight_id), &flight, until)
        .await
        .is_err()
    {
        return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    }
    let to = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state={flight_id}&code_challenge={challenge}&code_challenge_method=S256&ui_locales={}",
        CONSOLE_CLIENT_ID,
        encode(&callback_uri(&state)),
        ui.lang,
    );
    redirect(&to, &set.into_iter().collect::<Vec<_>>())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn retry(ui: &Ui, status: StatusCode) -> Response {
    let view = super::browser::MessagePage {
        ui,
        title: ui.c_title,
        message: ui.c_signin_failed,
        error: true,
        link: Some(("/console/login", ui.c_try_again)),
    };
    page(status, &view, &[])
}

/// `GET /console/callback`: the code comes back; the console redeems it in-process, as
/// `/token` would, with its verifier, and keeps the tokens for this browser.
pub async fn callback(
    State(state): State<AppState>,
    ui: Ui,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ui = ui.without_switch();
    if q.error.is_some() {
        return retry(&ui, StatusCode::OK);
    }
    let (Some(code), Some(flight_id)) = (q.code, q.state) else {
        return retry(&ui, StatusCode::BAD_REQUEST);
    };
    if flight_id.len() > 64 || code.len() > 512 {
        return retry(&ui, StatusCode::BAD_REQUEST);
    }
    let hot = &state.stores.state;
    let flight: Flight = match hot.take_record(Key::ConsoleSignIn(&flight_id)).await {
        Ok(crate::oauth::ports::Use::First(f)) => f,
        // The same callback again (a reload): its code was redeemed by the first.
        Ok(crate::oauth::ports::Use::Again(_)) => return retry(&ui, StatusCode::BAD_REQUEST),
        Ok(crate::oauth::ports::Use::Missing) => {
            // A code no sign-in of this console waits for (a link someone else made): used up
            // here, so it is worth nothing to whoever reads it in a log or the history.
            let _ = crate::oauth::code::redeem(&state.provider, &code).await;
            return retry(&ui, StatusCode::BAD_REQUEST);
        }
        Err(_) => return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
    };
    // The sign-in must come back to the browser that began it (no login CSRF).
    let same_browser =
        browser_cookie(&state, &headers).is_some_and(|b| crate::crypto::same(&digest(&b), &flight.browser));
    if !same_browser {
        let _ = crate::oauth::code::redeem(&state.provider, &code).await;
        return retry(&ui, StatusCode::BAD_REQUEST);
    }
    let Some(app) = console_app(&state).await else {
        return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.c_console_off);
    };
    let redirect_uri = callback_uri(&state);
    let tokens = match authorization_code::grant(
        &state.provider,
        &app,
        &code,
        Some(&redirect_uri),
        Some(&flight.verifier),
        None,
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::info!(error = %e, "console: the code was not redeemed");
            return retry(&ui, StatusCode::BAD_REQUEST);
        }
    };
    let bearer = match authorized_token(&state.provider, &tokens.access_token, Api::Admin).await {
        Ok(bearer) => bearer,
        Err(_) => return retry(&ui, StatusCode::BAD_REQUEST),
    };
    let username = match crate::model::user::UserId::parse(&bearer.claims.sub) {
        Ok(id) => match state.stores.db.find_user(id).await {
            Ok(Some(user)) => user.username.to_string(),
            Ok(None) => return retry(&ui, StatusCode::BAD_REQUEST),
            Err(_) => return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable),
        },
        Err(_) => return retry(&ui, StatusCode::BAD_REQUEST),
    };
    let until = state.clock.now() + SESSION;
    let held = Held {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        family: bearer.claims.family.clone(),
        username,
        until: until.unix_timestamp(),
    };
    // A sign-in replaces the browser's earlier console sign-in, if any.
    let https = state.config.is_https();
    if let Some(old) = cookie(&headers, cookie_name(https)) {
        end(&state, &old).await;
    }
    let value = random_token::<32>();
    let stored = match seal(&state, &value, &held) {
        Some(bytes) => hot.put(Key::ConsoleSession(&value), &bytes, until).await,
        None => return error_page(&ui, StatusCode::INTERNAL_SERVER_ERROR, ui.something_wrong),
    };
    if stored.is_err() {
        return error_page(&ui, StatusCode::SERVICE_UNAVAILABLE, ui.unavailable);
    }
    let set = crate::security::session::set_cookie(cookie_name(https), &value, https, SESSION);
    redirect(&flight.next, &[set])
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /console/logout`: revokes the console's tokens, forgets them, and goes on to the
/// RP-initiated logout, which ends the browser's sign-in too (after its own question).
pub async fn logout(State(state): State<AppState>, ui: Ui, headers: HeaderMap, form: axum::Form<CsrfForm>) -> Response {
    if !csrf_ok(&state, &headers, form.csrf.as_deref()) {
        return error_page(&ui, StatusCode::FORBIDDEN, ui.form_expired);
    }
    let https = state.config.is_https();
    let gone = crate::security::session::set_cookie(cookie_name(https), "", https, Duration::ZERO);
    if let Some(value) = cookie(&headers, cookie_name(https)) {
        end(&state, &value).await;
    }
    // No ID token in the address (it would reach access logs): the logout page asks once.
    let to = format!(
        "/logout?client_id={CONSOLE_CLIENT_ID}&post_logout_redirect_uri={}&ui_locales={}",
        encode(&format!("{}/console", state.config.issuer_str())),
        ui.lang
    );
    redirect(&to, &[gone])
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    scope: String,
    nothing: bool,
}

/// `GET /console`: who is signed in, for which account, and the sections they may open.
pub async fn home(r: ConsoleRequest) -> Response {
    let scope = match r.who.account {
        None => r.ui.c_staff_scope.to_owned(),
        Some(account) => {
            let name = r
                .admin()
                .accounts()
                .account(&r.who, &account.to_string())
                .await
                .map_or_else(|_| account.to_string(), |a| a.name);
            r.ui.fill(r.ui.c_account_scope, &[("name", &name)])
        }
    };
    let c = &r.at("home");
    let nothing = !(c.users || c.accounts || c.applications || c.roles || c.audit);
    let view = HomePage {
        ui: &r.ui,
        c,
        title: r.ui.c_title,
        scope,
        nothing,
    };
    r.show(if nothing { StatusCode::FORBIDDEN } else { StatusCode::OK }, &view)
}

/// An id from a path, shortened for a message.
pub fn short(id: &str) -> String {
    id.chars().take(64).collect()
}

/// `(value, words, chosen)` options of a select.
pub type Choices = Vec<(String, String, bool)>;

/// Answers a redirect to `to` with `?done=`.
pub fn done(to: &str, what: &str) -> Response {
    redirect(&format!("{to}?done={what}"), &[])
}

/// The answer to a query string that could not be read (malformed or repeated parameters).
pub fn bad_query(r: &ConsoleRequest) -> Response {
    let error = AdminError::Invalid {
        field: "query",
        message: "malformed or repeated parameters".into(),
    };
    failed(r, error)
}

/// The answer of a form that failed before reaching a service.
pub fn failed(r: &ConsoleRequest, error: AdminError) -> Response {
    let (status, words) = refusal(&r.ui, error);
    error_page(&r.ui, status, &words).into_response()
}

#[cfg(test)]
mod tests {
    use super::console_path;

    #[test]
    fn a_sign_in_goes_back_only_to_a_console_page() {
        for good in ["/console", "/console/users", "/console/users/01a2-b3_c"] {
            assert_eq!(console_path(Some(good)), good);
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/console/../logout",
            "/console/%2e%2e/x",
            "/console//evil.example",
            "/console\\evil",
            "/consoleevil",
            "/console/users?x=1",
            "/console/",
        ] {
            assert_eq!(console_path(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(console_path(None), "/console");
    }
}
