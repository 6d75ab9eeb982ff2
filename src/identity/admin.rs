//! Administrative services: creating B2B accounts, users and applications. The CLI calls them
//! now; the admin API will call the same functions. Input arrives raw, is parsed here once,
//! and every check runs before the single write, so a refusal writes nothing.

use secrecy::{ExposeSecret as _, SecretString};

use crate::clock::Clock;
use crate::events::UserEvent;
use crate::model::InvalidValue;
use crate::model::account::{Account, AccountId, AccountStatus, Slug, display_name};
use crate::model::application::{Application, ClientId, ClientSecret, ClientSettings, GrantType, SigningAlg};
use crate::model::password::Password;
use crate::model::redirect_uri::RedirectUri;
use crate::model::role::{RoleName, RoleScope};
use crate::model::scope::Scope;
use crate::model::user::{Email, Phone, User, UserId, UserStatus, Username};
use crate::store::{Database, StoreError};

pub mod accounts;
pub mod applications;
pub mod audit_trail;
pub mod idps;
pub mod principal;
pub mod roles;
pub mod services;
pub mod users;

/// Why an administrative change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("password hashing failed")]
    Hashing,
    /// The change needs fresher proof of who is asking (RFC 9470).
    #[error("{0}")]
    StepUp(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn field(field: &'static str) -> impl Fn(InvalidValue) -> AdminError {
    move |e| AdminError::Invalid { field, message: e.0 }
}

fn invalid(field: &'static str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field,
        message: message.into(),
    }
}

/// A new B2B account as typed.
#[derive(Debug, Default)]
pub struct NewAccount {
    pub name: String,
    pub slug: Option<String>,
}

/// Creates a B2B account; the slug defaults to one made from the name.
pub async fn create_account(db: &dyn Database, clock: &dyn Clock, input: NewAccount) -> Result<Account, AdminError> {
    let name = display_name(&input.name).map_err(field("name"))?;
    let slug = match input.slug.as_deref() {
        Some(s) => Slug::parse(s).map_err(field("slug"))?,
        None => Slug::from_name(&name).map_err(field("name"))?,
    };
    let now = clock.now();
    let account = Account {
        id: AccountId::generate(),
        name,
        slug,
        status: AccountStatus::Active,
        mfa_required: false,
        created_at: now,
        updated_at: now,
    };
    db.insert_account(&account).await.map_err(|e| match e {
        StoreError::Conflict { .. } => {
            AdminError::Conflict(format!("slug {:?} is already taken", account.slug.as_str()))
        }
        other => other.into(),
    })?;
    Ok(account)
}

/// Finds a B2B account by uuid or slug.
pub async fn find_account(db: &dyn Database, id_or_slug: &str) -> Result<Account, AdminError> {
    let found = match AccountId::parse(id_or_slug) {
        Ok(id) => db.find_account(id).await?,
        Err(_) => match Slug::parse(id_or_slug) {
            Ok(slug) => db.find_account_by_slug(&slug).await?,
            Err(_) => None,
        },
    };
    found.ok_or_else(|| AdminError::NotFound(format!("no B2B account {id_or_slug:?}")))
}

/// A new user as typed.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub password: SecretString,
    pub role: String,
    /// The B2B account's uuid or slug; `None` for staff.
    pub client: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    /// OpenID Connect profile fields (given_name, locale, address, …), checked as set.
    pub profile: serde_json::Map<String, serde_json::Value>,
}

/// Creates a user with a bcrypt password hash; the role must exist and fit the account.
pub async fn create_user(
    db: &dyn Database,
    clock: &dyn Clock,
    bcrypt_cost: u32,
    source: &str,
    input: NewUser,
) -> Result<User, AdminError> {
    let username = Username::parse(&input.username).map_err(field("username"))?;
    let password = Password::new_password_for(input.password.expose_secret(), &input.username, input.email.as_deref())
        .map_err(field("password"))?;
    let email = input
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(field("email"))?;
    let phone = input
        .phone
        .as_deref()
        .map(Phone::parse)
        .transpose()
        .map_err(field("phone"))?;
    let name = input
        .name
        .as_deref()
        .map(display_name)
        .transpose()
        .map_err(field("name"))?;
    let profile = crate::model::profile::Profile::default()
        .changed(&input.profile)
        .map_err(field("profile"))?;
    let role_name = RoleName::parse(&input.role).map_err(field("role"))?;
    let role = db
        .find_role(&role_name)
        .await?
        .ok_or_else(|| invalid("role", format!("no role {:?}", input.role)))?;
    let client_id = match (role.scope, input.client.as_deref()) {
        (RoleScope::Staff, None) => None,
        (RoleScope::Staff, Some(_)) => {
            return Err(invalid(
                "client",
                format!("{role_name} is a staff role: staff users belong to no B2B account"),
            ));
        }
        (RoleScope::Account, None) => {
            return Err(invalid(
                "client",
                format!("{role_name} is an account role: name the user's B2B account"),
            ));
        }
        (RoleScope::Account, Some(c)) => {
            let account = find_account(db, c).await?;
            if account.status != AccountStatus::Active {
                return Err(invalid(
                    "client",
                    format!("B2B account {} is {}", account.slug, account.status),
                ));
            }
            Some(account.id)
        }
    };
    if let Some(existing) = db.find_user_by_login(username.as_str()).await? {
        return Err(AdminError::Conflict(format!(
            "username {:?} is already taken",
            existing.username.as_str()
        )));
    }
    let password_hash = password.hash(bcrypt_cost).await.map_err(|_| AdminError::Hashing)?;
    let now = clock.now();
    let user = User {
        id: UserId::generate(),
        username,
        password_hash: Some(password_hash),
        email,
        phone,
        role: role_name,
        permissions: Vec::new(),
        status: UserStatus::Active,
        client_id,
        name,
        email_verified: false,
        phone_verified: false,
        not_before: None,
        created_at: now,
        updated_at: now,
        profile,
    };
    db.insert_user(&user, &[UserEvent::created(source, &user)])
        .await
        .map_err(|e| match e {
            StoreError::Conflict { constraint } if constraint == "users_email_key" => {
                AdminError::Conflict("email is already used by another user".into())
            }
            StoreError::Conflict { .. } => {
                AdminError::Conflict(format!("username {:?} is already taken", user.username.as_str()))
            }
            other => other.into(),
        })?;
    Ok(user)
}

/// A new application as typed (CLI flags, or the admin API's JSON body).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewApplication {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(rename = "grant_types")]
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub introspect: bool,
    #[serde(rename = "service_role")]
    pub role: Option<String>,
    /// The owning B2B account's uuid or slug.
    #[serde(rename = "account_id")]
    pub account: Option<String>,
    /// RFC 8707 resources its tokens may be issued for (absolute URIs).
    pub resources: Vec<String>,
    /// Whether its access tokens carry `permissions` (default yes).
    pub token_permissions: Option<bool>,
    /// How its ID tokens are signed: `RS256` (default) or `ES256`.
    pub id_token_signed_response_alg: Option<String>,
    /// Authorization requests only through `/par` (RFC 9126).
    pub require_pushed_authorization_requests: Option<bool>,
    /// `private_key_jwt` for a confidential client without a secret (with `jwks` or
    /// `jwks_uri`); else it follows from `public`.
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set), for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its keys, for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// Where the client takes logout tokens (OpenID Connect Back-Channel Logout).
    pub backchannel_logout_uri: Option<String>,
}

/// The standard OpenID Connect scopes an application gets when none are named.
const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "address"];

/// Registers an application. Returns it with its secret, shown this once (confidential only).
pub async fn create_application(
    db: &dyn Database,
    clock: &dyn Clock,
    input: NewApplication,
) -> Result<(Application, Option<ClientSecret>), AdminError> {
    let (app, secret) = application_from(db, clock, input, ClientId::generate()).await?;
    db.insert_application(&app).await?;
    Ok((app, secret))
}

/// The client_id of the admin console (`/console`): a first-party public application Propusk
/// registers for itself at first start.
pub const CONSOLE_CLIENT_ID: &str = "propusk-console";

/// Registers the console's application if it is missing, or points its redirect URIs at this
/// issuer if they name another (the issuer changed). Staff may disable it; that stays.
pub async fn ensure_console_application(db: &dyn Database, clock: &dyn Clock, issuer: &str) -> Result<(), AdminError> {
    let id = ClientId::parse(CONSOLE_CLIENT_ID).map_err(field("client_id"))?;
    let callback = format!("{issuer}/console/callback");
    let home = format!("{issuer}/console");
    let input = || NewApplication {
        name: "Propusk console".into(),
        redirect_uris: vec![callback],
        post_logout_redirect_uris: vec![home],
        grants: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into()],
        public: true,
        first_party: true,
        ..NewApplication::default()
    };
    let (mut app, _) = application_from(db, clock, input(), id.clone()).await?;
    if let Some(stored) = db.find_application(&id).await? {
        // Everything but whether staff turned it off is the console's own: put back whatever
        // differs (the issuer moved, or the row was changed behind the API's back).
        app.enabled = stored.enabled;
        app.created_at = stored.created_at;
        app.updated_at = stored.updated_at;
        if !same_settings(&app, &stored) {
            tracing::warn!("the admin console's application differed from its settings: put back");
            app.updated_at = clock.now();
            db.update_application(&app, stored.updated_at).await?;
        }
        return Ok(());
    }
    match db.insert_application(&app).await {
        // Another node registered it first.
        Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The grants of an application fit together and with it: authorization_code needs a redirect
/// URI, refresh_token a grant that starts a sign-in, and a public application (no secret) can use
/// neither client_credentials nor password.
pub(crate) fn grants_fit(grants: &[GrantType], has_redirect_uri: bool, public: bool) -> Result<(), AdminError> {
    let has = |g| grants.contains(&g);
    if grants.is_empty() {
        return Err(invalid("grant", "an application needs at least one grant"));
    }
    if has(GrantType::AuthorizationCode) && !has_redirect_uri {
        return Err(invalid(
            "redirect_uri",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) && !has(GrantType::Password) {
        return Err(invalid(
            "grant",
            "refresh_token needs authorization_code or password beside it",
        ));
    }
    if public && (has(GrantType::ClientCredentials) || has(GrantType::Password)) {
        return Err(invalid(
            "grant",
            "public applications cannot use client_credentials or password: they hold no secret",
        ));
    }
    Ok(())
}

/// Whether two copies of an application agree on everything that decides what it may do.
fn same_settings(a: &Application, b: &Application) -> bool {
    a.name == b.name
        && a.secret_hash.is_none() == b.secret_hash.is_none()
        && a.redirect_uris == b.redirect_uris
        && a.post_logout_redirect_uris == b.post_logout_redirect_uris
        && a.grant_types == b.grant_types
        && a.scopes == b.scopes
        && a.first_party == b.first_party
        && a.may_introspect == b.may_introspect
        && a.service_role == b.service_role
        && a.account_id == b.account_id
        && a.resources == b.resources
        && a.token_permissions == b.token_permissions
        && a.settings == b.settings
        && a.access_token_ttl == b.access_token_ttl
        && a.refresh_token_ttl == b.refresh_token_ttl
        && a.id_token_alg == b.id_token_alg
}

/// An application as `input` describes it, with its secret (confidential only), not yet stored.
async fn application_from(
    db: &dyn Database,
    clock: &dyn Clock,
    input: NewApplication,
    client_id: ClientId,
) -> Result<(Application, Option<ClientSecret>), AdminError> {
    let name = display_name(&input.name).map_err(field("name"))?;
    let redirect_uris = parse_uris(&input.redirect_uris, "redirect_uri")?;
    let post_logout_redirect_uris = parse_uris(&input.post_logout_redirect_uris, "post_logout_redirect_uri")?;
    let mut grant_types = Vec::new();
    for g in &input.grants {
        let grant = GrantType::parse(g).map_err(field("grant"))?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    if grant_types.is_empty() {
        grant_types = match (redirect_uris.is_empty(), input.role.is_some()) {
            (false, _) => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            (true, true) => vec![GrantType::ClientCredentials],
            (true, false) => {
                return Err(invalid("grant", "give a --grant, a --redirect-uri or a service --role"));
            }
        };
    }
    let has = |g| grant_types.contains(&g);
    grants_fit(&grant_types, !redirect_uris.is_empty(), input.public)?;
    if input.public && input.introspect {
        return Err(invalid(
            "introspect",
            "only confidential applications may introspect tokens",
        ));
    }
    let scopes = if input.scopes.is_empty() {
        let mut defaults: Vec<&str> = if has(GrantType::AuthorizationCode) || has(GrantType::Password) {
            DEFAULT_SCOPES.to_vec()
        } else {
            Vec::new()
        };
        if has(GrantType::RefreshToken) {
            defaults.push("offline_access");
        }
        Scope::from_tokens(defaults).map_err(field("scope"))?
    } else {
        Scope::from_tokens(input.scopes.iter().flat_map(|s| s.split(' ')).filter(|s| !s.is_empty()))
            .map_err(field("scope"))?
    };
    let account_id = match input.account.as_deref() {
        Some(a) => Some(find_account(db, a).await?.id),
        None => None,
    };
    let service_role = match input.role.as_deref() {
        None => None,
        Some(r) => {
            if !has(GrantType::ClientCredentials) {
                return Err(invalid("role", "a service role needs the client_credentials grant"));
            }
            let name = RoleName::parse(r).map_err(field("role"))?;
            let role = db
                .find_role(&name)
                .await?
                .ok_or_else(|| invalid("role", format!("no role {r:?}")))?;
            match (role.scope, account_id) {
                (RoleScope::Account, None) => {
                    return Err(invalid(
                        "account",
                        format!("{name} is an account role: name the owning --account"),
                    ));
                }
                (RoleScope::Staff, Some(_)) => {
                    return Err(invalid(
                        "account",
                        format!("{name} is a staff role: it cannot belong to a B2B account"),
                    ));
                }
                _ => Some(name),
            }
        }
    };
    let keys = client_keys(
        input.token_endpoint_auth_method.as_deref(),
        input.public,
        input.jwks.clone(),
        input.jwks_uri.clone(),
    )?;
    let secret = (!input.public && !keys.0).then(ClientSecret::generate);
    let now = clock.now();
    let app = Application {
        client_id,
        name,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        first_party: input.first_party,
        may_introspect: input.introspect,
        service_role,
        account_id,
        id_token_alg: id_token_alg(input.id_token_signed_response_alg.as_deref())?.unwrap_or(SigningAlg::Rs256),
        access_token_ttl: None,
        refresh_token_ttl: None,
        enabled: true,
        resources: parse_resources(&input.resources)?,
        token_permissions: input.token_permissions.unwrap_or(true),
        settings: ClientSettings {
            require_pushed_authorization_requests: input.require_pushed_authorization_requests.unwrap_or(false),
            private_key_jwt: keys.0,
            jwks: keys.1,
            jwks_uri: keys.2,
            backchannel_logout_uri: logout_uri(input.backchannel_logout_uri.as_deref())?,
        },
        generation: 0,
        created_at: now,
        updated_at: now,
    };
    Ok((app, secret))
}

/// The key settings of an application as typed: whether it uses `private_key_jwt`, and its
/// `jwks` or `jwks_uri` (exactly one of them, and only with that method).
pub(crate) fn client_keys(
    method: Option<&str>,
    public: bool,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
) -> Result<(bool, Option<serde_json::Value>, Option<String>), AdminError> {
    let keyed = match method {
        None | Some("client_secret_basic" | "client_secret_post" | "none") => false,
        Some("private_key_jwt") => true,
        Some(other) => {
            return Err(invalid(
                "token_endpoint_auth_method",
                format!("{other:?} is not client_secret_basic, client_secret_post, private_key_jwt or none"),
            ));
        }
    };
    if !keyed {
        if jwks.is_some() || jwks_uri.is_some() {
            return Err(invalid(
                "jwks",
                "jwks and jwks_uri go with token_endpoint_auth_method private_key_jwt",
            ));
        }
        return Ok((false, None, None));
    }
    if public {
        return Err(invalid(
            "token_endpoint_auth_method",
            "a public application holds no key",
        ));
    }
    match (jwks, jwks_uri) {
        (Some(set), None) => {
            crate::oauth::client_assertion::parse_set(&set).map_err(|e| invalid("jwks", e))?;
            Ok((true, Some(set), None))
        }
        (None, Some(uri)) => match url::Url::parse(&uri) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() && uri.len() <= 2048 => {
                Ok((true, None, Some(uri)))
            }
            _ => Err(invalid("jwks_uri", "an absolute https URL")),
        },
        _ => Err(invalid(
            "jwks",
            "private_key_jwt needs exactly one of jwks and jwks_uri",
        )),
    }
}

/// A back-channel logout URI as typed: an absolute http(s) URL without a fragment (OpenID
/// Connect Back-Channel Logout §2.2); https is enforced when it is called, outside development.
pub(crate) fn logout_uri(uri: Option<&str>) -> Result<Option<String>, AdminError> {
    match uri.map(str::trim) {
        None | Some("") => Ok(None),
        Some(u) => match url::Url::parse(u) {
            Ok(url)
                if matches!(url.scheme(), "https" | "http")
                    && url.host_str().is_some()
                    && url.fragment().is_none()
                    && u.len() <= 2048 =>
            {
                Ok(Some(u.to_owned()))
            }
            _ => Err(invalid(
                "backchannel_logout_uri",
                "an absolute https URL without a fragment",
            )),
        },
    }
}

/// An ID token signing algorithm as typed (`RS256` or `ES256`).
pub(crate) fn id_token_alg(alg: Option<&str>) -> Result<Option<SigningAlg>, AdminError> {
    alg.map(|a| {
        SigningAlg::parse(a).map_err(|_| AdminError::Invalid {
            field: "id_token_signed_response_alg",
            message: format!("{a:?} is not RS256 or ES256"),
        })
    })
    .transpose()
}

/// The resources an application may name (RFC 8707), each an absolute URI, without repeats.
pub(crate) fn parse_resources(resources: &[String]) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::new();
    for r in resources {
        let r = crate::model::application::parse_resource(r).map_err(field("resources"))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

pub(crate) fn parse_uris(uris: &[String], name: &'static str) -> Result<Vec<RedirectUri>, AdminError> {
    let mut out: Vec<RedirectUri> = Vec::new();
    for uri in uris {
        let parsed = RedirectUri::parse(uri).map_err(field(name))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}
