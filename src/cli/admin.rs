//! `propusk admin …`: the first accounts, users and applications, before any API token exists.

use std::io::Read as _;
use std::sync::Arc;

use clap::Subcommand;
use secrecy::SecretString;
use serde_json::json;

use super::Failure;
use crate::audit::{Action, AuditRecord, Auditor};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::identity::admin::{self, NewAccount, NewApplication, NewUser};
use crate::keys::{MasterKey, Purpose};
use crate::store::Database;
use crate::{store, telemetry};

#[derive(Debug, Subcommand)]
pub(super) enum AdminCommand {
    /// B2B customer accounts.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// OAuth/OIDC applications.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Upstream identity providers of B2B accounts (corporate SSO).
    Idp {
        #[command(subcommand)]
        command: IdpCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum IdpCommand {
    /// Add an upstream OpenID provider to a B2B account; the client secret is read from
    /// standard input.
    Create {
        /// The B2B account (id or slug).
        #[arg(long)]
        client: String,
        /// The provider's issuer URL (https; discovery is read from it).
        #[arg(long)]
        issuer: String,
        /// Propusk's client id at the provider.
        #[arg(long = "client-id")]
        client_id: String,
        /// Read the client secret from standard input.
        #[arg(long = "client-secret-stdin")]
        client_secret_stdin: bool,
        /// An email domain whose users sign in there (subdomains included); repeatable.
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Create unknown users at their first sign-in.
        #[arg(long)]
        jit: bool,
        /// The account role of users created just in time.
        #[arg(long = "default-role")]
        default_role: Option<String>,
        /// A scope to ask the provider for (`openid` among them); repeatable. Default: openid,
        /// email, profile.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A claim-to-role rule `CLAIM=VALUE:ROLE` (the claim is, or contains, the value); the
        /// first match wins; repeatable.
        #[arg(long = "role-rule", value_parser = parse_role_rule)]
        role_rules: Vec<crate::model::idp::RoleRule>,
        /// The account's users may not sign in with a password.
        #[arg(long = "sso-required")]
        sso_required: bool,
        /// The provider's multi-factor sign-in (amr `mfa`, or a multi-factor acr) satisfies the
        /// account's 2FA policy.
        #[arg(long = "accept-upstream-mfa")]
        accept_upstream_mfa: bool,
        #[arg(long)]
        json: bool,
    },
}

/// `CLAIM=VALUE:ROLE`.
fn parse_role_rule(s: &str) -> Result<crate::model::idp::RoleRule, String> {
    let (claim, rest) = s.split_once('=').ok_or("expected CLAIM=VALUE:ROLE")?;
    let (value, role) = rest.rsplit_once(':').ok_or("expected CLAIM=VALUE:ROLE")?;
    if claim.is_empty() || value.is_empty() || role.is_empty() {
        return Err("expected CLAIM=VALUE:ROLE".into());
    }
    Ok(crate::model::idp::RoleRule {
        claim: claim.into(),
        value: value.into(),
        role: role.into(),
    })
}

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Create a B2B account.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Unique short name (a-z, 0-9, -); made from the name when omitted.
        #[arg(long)]
        slug: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// admin, operator (staff) or client_admin, client_user (need --client), or a custom role.
        #[arg(long)]
        role: String,
        /// The user's B2B account (uuid or slug); omit for staff.
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// E.164, e.g. +4915112345678.
        #[arg(long)]
        phone: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (10-72 bytes; one trailing newline is dropped).
        #[arg(long)]
        password_stdin: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum AppCommand {
    /// Register an application; a confidential one's secret is shown once.
    Create {
        #[arg(long)]
        name: String,
        /// Exact redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI (repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// authorization_code, refresh_token, client_credentials or password (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Allowed scope (repeatable); defaults to openid profile email phone address (+ offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Skip the consent page and allow admin API use.
        #[arg(long)]
        first_party: bool,
        /// May call /introspect about any token.
        #[arg(long)]
        introspect: bool,
        /// Service role of client_credentials tokens.
        #[arg(long)]
        role: Option<String>,
        /// Owning B2B account (uuid or slug).
        #[arg(long)]
        account: Option<String>,
        /// An RFC 8707 resource (absolute URI) its tokens may be issued for (repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// Leave `permissions` out of its access tokens (services ask /authz/check or the
        /// gateway, which read them from the role and the user).
        #[arg(long)]
        no_token_permissions: bool,
        /// How its ID tokens are signed: RS256 (default) or ES256.
        #[arg(long = "id-token-alg")]
        id_token_alg: Option<String>,
        /// Authorization requests only through /par (RFC 9126).
        #[arg(long = "require-par")]
        require_par: bool,
        /// private_key_jwt: authenticate with a signed JWT (with --jwks-uri or --jwks) instead
        /// of a secret.
        #[arg(long = "token-endpoint-auth-method")]
        token_endpoint_auth_method: Option<String>,
        /// Where the application publishes its public keys (https), for private_key_jwt.
        #[arg(long = "jwks-uri")]
        jwks_uri: Option<String>,
        /// The application's public keys as a JWK Set (JSON text), for private_key_jwt.
        #[arg(long)]
        jwks: Option<String>,
        /// Where the application takes logout tokens when a session it signed in to ends.
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(command: AdminCommand, config: Config) -> Result<(), Failure> {
    telemetry::init(config.log_format, "warn");
    // Parse what needs no database first, so bad input fails fast.
    let secret = stdin_secret(&command)?;
    let db = store::connect_database(&config).await?;
    let result = match command {
        AdminCommand::Client {
            command: ClientCommand::Create { name, slug, json },
        } => create_client(db.as_ref(), NewAccount { name, slug }, json).await,
        AdminCommand::User {
            command:
                UserCommand::Create {
                    username,
                    role,
                    client,
                    email,
                    phone,
                    name,
                    json,
                    ..
                },
        } => {
            let input = NewUser {
                username,
                password: secret.unwrap_or_else(|| SecretString::from(String::new())),
                role,
                client,
                email,
                phone,
                name,
                profile: Default::default(),
            };
            create_user(db.as_ref(), &config, input, json).await
        }
        AdminCommand::App {
            command:
                AppCommand::Create {
                    name,
                    redirect_uris,
                    post_logout_redirect_uris,
                    grants,
                    scopes,
                    public,
                    first_party,
                    introspect,
                    role,
                    account,
                    resources,
                    no_token_permissions,
                    id_token_alg,
                    require_par,
                    token_endpoint_auth_method,
                    jwks_uri,
                    jwks,
                    backchannel_logout_uri,
                    json,
                },
        } => {
            let input = NewApplication {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                grants,
                scopes,
                public,
                first_party,
                introspect,
                role,
                account,
                resources,
                token_permissions: Some(!no_token_permissions),
                id_token_signed_response_alg: id_token_alg,
                require_pushed_authorization_requests: Some(require_par),
                token_endpoint_auth_method,
                jwks: match jwks.as_deref().map(serde_json::from_str).transpose() {
                    Ok(set) => set,
                    Err(e) => return Err(Failure::from(format!("--jwks is not JSON: {e}"))),
                },
                jwks_uri,
                backchannel_logout_uri,
            };
            create_app(db.as_ref(), input, json).await
        }
        AdminCommand::Idp {
            command:
                IdpCommand::Create {
                    client,
                    issuer,
                    client_id,
                    domains,
                    jit,
                    default_role,
                    scopes,
                    role_rules,
                    sso_required,
                    accept_upstream_mfa,
                    json,
                    ..
                },
        } => {
            let input = admin::idps::IdpInput {
                issuer: Some(issuer),
                client_id: Some(client_id),
                client_secret: secret
                    .as_ref()
                    .map(|s| secrecy::ExposeSecret::expose_secret(s).to_owned()),
                domains: (!domains.is_empty()).then_some(domains),
                jit: Some(jit),
                default_role: default_role.map(Some),
                scopes: (!scopes.is_empty()).then_some(scopes),
                role_rules: (!role_rules.is_empty()).then_some(role_rules),
                sso_required: Some(sso_required),
                accept_upstream_mfa: Some(accept_upstream_mfa),
                ..Default::default()
            };
            create_idp(&db, &config, &client, input, json).await
        }
    };
    let audited = match result {
        Ok(record) => audit(&db, &config, record).await,
        Err(e) => Err(e),
    };
    db.close().await;
    audited
}

/// The secret a command reads from stdin (a user's password, an upstream client secret), before
/// any store is opened; a user created without `--password-stdin` is refused here.
fn stdin_secret(command: &AdminCommand) -> Result<Option<SecretString>, Failure> {
    match command {
        AdminCommand::User {
            command: UserCommand::Create {
                password_stdin: true, ..
            },
        }
        | AdminCommand::Idp {
            command: IdpCommand::Create {
                client_secret_stdin: true,
                ..
            },
        } => Ok(Some(read_password()?)),
        AdminCommand::User {
            command: UserCommand::Create {
                password_stdin: false, ..
            },
        } => Err(Failure(
            "a password is required: pipe it in and pass --password-stdin".into(),
        )),
        _ => Ok(None),
    }
}

/// Appends the command's audit record to the chain.
async fn audit(db: &Arc<dyn Database>, config: &Config, record: AuditRecord) -> Result<(), Failure> {
    let master = MasterKey::load_or_create(config)?;
    let auditor = Auditor::new(db.clone(), &master.derive(Purpose::AuditChain), config.issuer_str());
    auditor.record(record).await.map(drop).map_err(Failure::from)
}

async fn create_client(db: &dyn Database, input: NewAccount, json: bool) -> Result<AuditRecord, Failure> {
    let a = admin::create_account(db, &SystemClock, input).await?;
    let object = json!({ "id": a.id, "name": a.name, "slug": a.slug, "status": a.status });
    print(json, &object, &format!("created B2B account {} ({})", a.id, a.slug));
    Ok(AuditRecord::change(
        a.created_at,
        Action::ClientCreate,
        "client",
        &a.id.to_string(),
        Some(a.id),
        object,
    ))
}

async fn create_user(db: &dyn Database, config: &Config, input: NewUser, json: bool) -> Result<AuditRecord, Failure> {
    let u = admin::create_user(db, &SystemClock, config.bcrypt_cost, config.issuer_str(), input).await?;
    let mut object = serde_json::to_value(u.view()).unwrap_or_default();
    object["id"] = json!(u.id);
    print(
        json,
        &object,
        &format!("created user {} ({}, role {})", u.id, u.username, u.role),
    );
    Ok(AuditRecord::change(
        u.created_at,
        Action::UserCreate,
        "user",
        &u.id.to_string(),
        u.client_id,
        object,
    ))
}

async fn create_app(db: &dyn Database, input: NewApplication, json: bool) -> Result<AuditRecord, Failure> {
    let (app, secret) = admin::create_application(db, &SystemClock, input).await?;
    let mut object = app.view();
    let record = AuditRecord::change(
        app.created_at,
        Action::ApplicationCreate,
        "application",
        app.client_id.as_str(),
        app.account_id,
        object.clone(),
    );
    if let Some(secret) = &secret {
        object["client_secret"] = json!(secret.expose());
    }
    let text = match &secret {
        Some(s) => format!(
            "created application {}\nclient_secret (shown once): {}",
            app.client_id,
            s.expose()
        ),
        None => format!("created public application {}", app.client_id),
    };
    print(json, &object, &text);
    Ok(record)
}

async fn create_idp(
    db: &Arc<dyn Database>,
    config: &Config,
    client: &str,
    input: admin::idps::IdpInput,
    json: bool,
) -> Result<AuditRecord, Failure> {
    let master = MasterKey::load_or_create(config).map_err(|e| Failure(format!("cannot load the master key: {e}")))?;
    // The shared hot store: requiring SSO ends the account's password sessions on every node (an
    // in-process store here would end nothing).
    let hot = store::connect_hot(config, Arc::new(SystemClock))
        .await
        .map_err(|e| Failure(format!("cannot reach the hot-state store: {e}")))?;
    let auditor = Auditor::new(db.clone(), &master.derive(Purpose::AuditChain), config.issuer_str());
    let notifier = crate::notify::Notifier::from_config(config).map_err(|e| Failure(e.to_string()))?;
    let state = crate::store::hot::HotState::new(hot.clone());
    let services = admin::services::AdminServices {
        db: db.as_ref(),
        state: &state,
        clock: &SystemClock,
        audit: &auditor,
        source: config.issuer_str(),
        ctx: Default::default(),
        notifier: &notifier,
    };
    let idps = services.idps();
    let who = admin::principal::Principal::cli();
    let (provider, _) = idps
        .prepare_idp(&who, client, &master.derive(Purpose::Encryption), input)
        .await?;
    db.insert_idp(&provider).await?;
    if provider.sso_required && provider.enabled {
        idps.end_password_sessions(&who, &provider)
            .await
            .map_err(|e| Failure(format!("the password sessions could not be ended: {e}")))?;
    }
    let object = provider.view();
    print(
        json,
        &object,
        &format!("created identity provider {} ({})", provider.id, provider.issuer),
    );
    Ok(AuditRecord::change(
        provider.created_at,
        Action::IdpCreate,
        "identity_provider",
        &provider.id.to_string(),
        Some(provider.account_id),
        object,
    ))
}

fn print(json: bool, object: &serde_json::Value, text: &str) {
    if json {
        println!("{object}");
    } else {
        println!("{text}");
    }
}

/// Reads the password from stdin, dropping one trailing newline.
fn read_password() -> Result<SecretString, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| Failure(format!("cannot read the password from standard input: {e}")))?;
    let trimmed = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok(SecretString::from(trimmed.to_owned()))
}
