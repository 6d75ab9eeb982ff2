//! Typed configuration: `PROPUSK_*` environment variables over an optional `propusk.toml`
//! (DESIGN.md, Configuration). Every value is parsed once, here; a bad value stops start-up
//! with a message naming the key and the form it expects.

mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use time::Duration;
use url::Url;

pub use value::{IpNet, LogFormat};

/// Every setting: key (without the `PROPUSK_` prefix), default, and what it does.
/// `propusk serve --help` and the README print this table.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("LISTEN", "127.0.0.1:8080", "address and port to listen on"),
    (
        "ISSUER",
        "http://127.0.0.1:8080",
        "public base URL; https in production (enables __Host- cookies)",
    ),
    (
        "DATABASE_URL",
        "sqlite://data/propusk.db",
        "postgres://user@host:5432/db (created if missing) or sqlite://path",
    ),
    (
        "DATABASE_MAX_CONNECTIONS",
        "16",
        "relational connection pool size (1-1000)",
    ),
    (
        "REDIS_URL",
        "(in-process store)",
        "redis://host:6379/0 for shared hot state; unset: in-process, one node only",
    ),
    ("REDIS_PREFIX", "propusk", "prefix of every Redis key"),
    ("REDIS_POOL_SIZE", "4", "multiplexed Redis connections (1-64)"),
    ("KAFKA_BROKERS", "(none: outbox only)", "comma-separated host:port list"),
    ("KAFKA_TOPIC_PREFIX", "(empty)", "prefix of every Kafka topic name"),
    (
        "DEFAULT_LOCALE",
        "en",
        "language of pages (after ui_locales, the switch and Accept-Language) and of mails and SMS to users without a locale of their own: en or ru",
    ),
    (
        "OUTBOX_RETENTION",
        "7d",
        "how long sent events stay in the outbox table before they are deleted (1h-365d)",
    ),
    (
        "KEYS_DIR",
        "keys",
        "signing keys (PEM) and master.key; generated on first start",
    ),
    (
        "MASTER_KEY",
        "(KEYS_DIR/master.key)",
        "base64 of at least 32 random bytes; feeds every derived secret",
    ),
    ("ACCESS_TOKEN_AUDIENCE", "propusk", "default `aud` of access tokens"),
    (
        "ACCESS_TOKEN_TTL",
        "10m",
        "access token lifetime (30s-24h; units s, m, h, d)",
    ),
    ("BCRYPT_COST", "10", "bcrypt work factor for passwords (4-31)"),
    (
        "TRUSTED_PROXIES",
        "(none)",
        "comma-separated IPs or CIDRs whose X-Forwarded-For is believed",
    ),
    (
        "RATE_LIMIT_LOGIN",
        "30/1m",
        "per client IP on sign-in forms, 2FA, POST /authorize and password reset (N/period or off)",
    ),
    (
        "RATE_LIMIT_CLIENT",
        "1000/1s",
        "per application and node on /token, /introspect and /revoke (N/period or off)",
    ),
    (
        "RATE_LIMIT_GATEWAY",
        "200000/1s",
        "/introspect budget of applications with the introspect right (gateways), instead of RATE_LIMIT_CLIENT",
    ),
    (
        "RATE_LIMIT_ADMIN",
        "600/1m",
        "per caller on the admin API (N/period or off)",
    ),
    (
        "HEADER_READ_TIMEOUT",
        "10s",
        "a connection that has not sent a request's headers within this is closed (1s-60s)",
    ),
    (
        "MAX_CONNECTIONS",
        "10000",
        "open client connections at most; more are closed at once (capped by the file limit)",
    ),
    (
        "MAX_CONNECTIONS_PER_CLIENT",
        "256",
        "open connections per client address (TRUSTED_PROXIES exempt: a gateway's are all one)",
    ),
    (
        "LOCKOUT_THRESHOLD",
        "5",
        "consecutive failed passwords before a lockout (per account and source, per known device)",
    ),
    (
        "LOCKOUT_ACCOUNT_THRESHOLD",
        "20",
        "failures from all unknown sources before the account locks for unknown devices",
    ),
    (
        "LOCKOUT_DURATIONS",
        "1m,5m,15m,1h",
        "lockout lengths, growing with each lockout within a day",
    ),
    (
        "MFA_REQUIRED_ROLES",
        "admin",
        "roles whose users must sign in with a second factor (comma-separated; B2B accounts can require it too)",
    ),
    ("SMTP_URL", "(none)", "smtp://user:pass@host:port or smtps://… for mail"),
    ("SMTP_FROM", "(none)", "sender address of mail"),
    ("SMS_WEBHOOK_URL", "(none: log codes)", "HTTP endpoint that sends SMS"),
    (
        "GATEWAY_ROUTES",
        "(none: token checks only)",
        "TOML route map of /gateway/check: [[route]] method, path glob, permission, audience",
    ),
    ("LOG_FORMAT", "text", "text or json"),
    (
        "LOG_LEVEL",
        "info",
        "tracing filter, e.g. info or propusk=debug,sqlx=warn",
    ),
];

const RATE_FORM: &str = "N/period with N > 0 and a period from 1s to 1d (e.g. 30/1m), or off";

/// Where the relational data lives.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// PostgreSQL; the URL may carry a password, so it is kept secret.
    Postgres(SecretString),
    /// An SQLite file (the embedded default).
    Sqlite(PathBuf),
}

impl DatabaseConfig {
    /// The engine's name, as health checks and logs show it.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}

/// Redis settings; absent means the in-process hot-state store.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: SecretString,
    pub pool_size: usize,
}

/// The validated configuration of one Propusk node.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub issuer: Url,
    pub database: DatabaseConfig,
    pub database_max_connections: u32,
    pub redis: Option<RedisConfig>,
    pub redis_prefix: String,
    pub kafka_brokers: Vec<String>,
    pub kafka_topic_prefix: String,
    pub keys_dir: PathBuf,
    pub master_key: Option<SecretString>,
    pub access_token_audience: String,
    pub access_token_ttl: Duration,
    /// How long sent outbox rows are kept.
    pub outbox_retention: Duration,
    /// The language of pages no preference names, and of mails and SMS to users without a
    /// locale of their own.
    pub default_locale: crate::i18n::Lang,
    pub bcrypt_cost: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limit_login: Option<crate::model::rate::Rate>,
    pub rate_limit_client: Option<crate::model::rate::Rate>,
    pub rate_limit_gateway: Option<crate::model::rate::Rate>,
    pub rate_limit_admin: Option<crate::model::rate::Rate>,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub lockout_threshold: u32,
    pub lockout_account_threshold: u32,
    pub lockout_durations: Vec<Duration>,
    pub mfa_required_roles: Vec<String>,
    pub smtp_url: Option<SecretString>,
    pub smtp_from: Option<String>,
    pub sms_webhook_url: Option<Url>,
    /// The route map of `/gateway/check`.
    pub gateway_routes: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_level: String,
}

/// One bad setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Everything wrong with a configuration, each naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        write!(f, "invalid configuration: {}", lines.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment and `propusk.toml` (or the file `PROPUSK_CONFIG` names).
    pub fn load() -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = match env.get("PROPUSK_CONFIG") {
            Some(path) => Some(read_file(Path::new(path), true)?),
            None => read_file(Path::new("propusk.toml"), false).ok(),
        }
        .flatten();
        Self::from_sources(&env, file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())))
    }

    /// Builds a configuration from environment variables and an optional TOML file's text;
    /// the environment wins.
    pub fn from_sources(env: &BTreeMap<String, String>, file: Option<(&Path, &str)>) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        let mut problems = Vec::new();
        if let Some((path, text)) = file {
            value::read_toml(path, text, &mut raw, &mut problems);
        }
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("PROPUSK_")
                && SETTINGS.iter().any(|(k, _, _)| *k == key)
            {
                raw.insert(key.to_owned(), value.clone());
            }
        }
        let mut p = value::Parser::new(raw, problems);
        let config = Config {
            listen: p.parse("LISTEN", "127.0.0.1:8080", "host:port, e.g. 0.0.0.0:8080", |s| {
                s.parse::<SocketAddr>().ok()
            }),
            issuer: p.parse(
                "ISSUER",
                "http://127.0.0.1:8080",
                "an http(s) URL without query or fragment",
                value::issuer,
            ),
            database: p.parse(
                "DATABASE_URL",
                "sqlite://data/propusk.db",
                "postgres://… or sqlite://path",
                value::database,
            ),
            database_max_connections: p.parse("DATABASE_MAX_CONNECTIONS", "16", "an integer from 1 to 1000", |s| {
                s.parse::<u32>().ok().filter(|n| (1..=1000).contains(n))
            }),
            redis: p
                .optional("REDIS_URL", "redis://host:port[/db] or rediss://…", |s| {
                    Url::parse(s)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix"))
                        .map(|_| SecretString::from(s.to_owned()))
                })
                .map(|url| RedisConfig { url, pool_size: 4 }),
            redis_prefix: p.parse(
                "REDIS_PREFIX",
                "propusk",
                "1-64 characters of a-z A-Z 0-9 . _ - :",
                |s| value::token(s, 64, ".-_:"),
            ),
            kafka_brokers: p.parse("KAFKA_BROKERS", "", "comma-separated host:port pairs", value::brokers),
            kafka_topic_prefix: p.parse(
                "KAFKA_TOPIC_PREFIX",
                "",
                "up to 100 characters of a-z A-Z 0-9 . _ -",
                |s| {
                    if s.is_empty() {
                        Some(String::new())
                    } else {
                        value::token(s, 100, ".-_")
                    }
                },
            ),
            keys_dir: p.parse("KEYS_DIR", "keys", "a directory path", |s| {
                (!s.is_empty()).then(|| PathBuf::from(s))
            }),
            master_key: p.optional("MASTER_KEY", "base64 of at least 32 bytes", value::master_key),
            access_token_audience: p.parse(
                "ACCESS_TOKEN_AUDIENCE",
                "propusk",
                "a non-empty string without spaces",
                |s| (!s.is_empty() && !s.contains(char::is_whitespace)).then(|| s.to_owned()),
            ),
            access_token_ttl: p.parse("ACCESS_TOKEN_TTL", "10m", "a duration from 30s to 24h, e.g. 10m", |s| {
                value::duration(s).filter(|d| *d >= Duration::seconds(30) && *d <= Duration::hours(24))
            }),
            default_locale: p.parse("DEFAULT_LOCALE", "en", "en or ru", crate::i18n::Lang::parse),
            outbox_retention: p.parse("OUTBOX_RETENTION", "7d", "a duration from 1h to 365d, e.g. 7d", |s| {
                value::duration(s).filter(|d| *d >= Duration::hours(1) && *d <= Duration::days(365))
            }),
            bcrypt_cost: p.parse("BCRYPT_COST", "10", "an integer from 4 to 31", |s| {
                s.parse::<u32>().ok().filter(|n| (4..=31).contains(n))
            }),
            trusted_proxies: p.parse(
                "TRUSTED_PROXIES",
                "",
                "comma-separated IPs or CIDRs, e.g. 10.0.0.0/8",
                |s| value::list(s).map(|x| x.parse::<IpNet>().ok()).collect(),
            ),
            rate_limit_login: p.parse("RATE_LIMIT_LOGIN", "30/1m", RATE_FORM, value::rate),
            rate_limit_client: p.parse("RATE_LIMIT_CLIENT", "1000/1s", RATE_FORM, value::rate),
            rate_limit_gateway: p.parse("RATE_LIMIT_GATEWAY", "200000/1s", RATE_FORM, value::rate),
            rate_limit_admin: p.parse("RATE_LIMIT_ADMIN", "600/1m", RATE_FORM, value::rate),
            header_read_timeout: p.parse("HEADER_READ_TIMEOUT", "10s", "a duration from 1s to 60s", |s| {
                value::duration(s).filter(|d| *d >= Duration::seconds(1) && *d <= Duration::seconds(60))
            }),
            max_connections: p.parse("MAX_CONNECTIONS", "10000", "an integer from 16 to 1000000", |s| {
                s.parse::<usize>().ok().filter(|n| (16..=1_000_000).contains(n))
            }),
            max_connections_per_client: p.parse(
                "MAX_CONNECTIONS_PER_CLIENT",
                "256",
                "an integer from 1 to 1000000",
                |s| s.parse::<usize>().ok().filter(|n| (1..=1_000_000).contains(n)),
            ),
            lockout_threshold: p.parse("LOCKOUT_THRESHOLD", "5", "an integer from 1 to 100", |s| {
                s.parse::<u32>().ok().filter(|n| (1..=100).contains(n))
            }),
            lockout_account_threshold: p.parse("LOCKOUT_ACCOUNT_THRESHOLD", "20", "an integer from 1 to 10000", |s| {
                s.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n))
            }),
            lockout_durations: p.parse(
                "LOCKOUT_DURATIONS",
                "1m,5m,15m,1h",
                "comma-separated durations from 1s to 7d, e.g. 1m,5m,15m,1h",
                value::durations,
            ),
            mfa_required_roles: p.parse(
                "MFA_REQUIRED_ROLES",
                "admin",
                "comma-separated role names, or empty",
                |s| value::list(s).map(|r| value::token(r, 64, "_-")).collect(),
            ),
            smtp_url: p.optional("SMTP_URL", "smtp://[user:pass@]host[:port] or smtps://…", |s| {
                Url::parse(s)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some())
                    .map(|_| SecretString::from(s.to_owned()))
            }),
            smtp_from: p.optional("SMTP_FROM", "an email address, optionally `Name <addr>`", |s| {
                (s.contains('@') && !s.contains(['\r', '\n'])).then(|| s.to_owned())
            }),
            sms_webhook_url: p.optional("SMS_WEBHOOK_URL", "an http(s) URL", |s| {
                Url::parse(s).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
            }),
            gateway_routes: p.optional("GATEWAY_ROUTES", "a file path", |s| Some(PathBuf::from(s))),
            log_format: p.parse("LOG_FORMAT", "text", "text or json", |s| s.parse().ok()),
            log_level: p.parse("LOG_LEVEL", "info", "a tracing filter, e.g. info", |s| {
                tracing_subscriber::EnvFilter::try_new(s).ok().map(|_| s.to_owned())
            }),
        };
        let pool = p.parse("REDIS_POOL_SIZE", "4", "an integer from 1 to 64", |s| {
            s.parse::<usize>().ok().filter(|n| (1..=64).contains(n))
        });
        let problems = p.finish();
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            redis: config.redis.map(|r| RedisConfig { pool_size: pool, ..r }),
            ..config
        })
    }

    /// The embedded default with every file under `dir`: what tests and examples start from.
    pub fn embedded_in(dir: &Path) -> Self {
        let mut env = BTreeMap::new();
        env.insert("PROPUSK_LISTEN".into(), "127.0.0.1:0".into());
        env.insert(
            "PROPUSK_DATABASE_URL".into(),
            format!("sqlite://{}", dir.join("propusk.db").display()),
        );
        env.insert("PROPUSK_KEYS_DIR".into(), dir.join("keys").display().to_string());
        env.insert("PROPUSK_BCRYPT_COST".into(), "4".into());
        match Self::from_sources(&env, None) {
            Ok(config) => config,
            Err(e) => unreachable!("the embedded test configuration is valid: {e}"),
        }
    }

    /// True when the issuer is served over https: cookies then take the `__Host-` prefix.
    pub fn is_https(&self) -> bool {
        self.issuer.scheme() == "https"
    }

    /// The issuer as it appears in tokens and discovery: no trailing slash.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }
}

fn read_file(path: &Path, required: bool) -> Result<Option<(PathBuf, String)>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((path.to_owned(), text))),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError {
            problems: vec![Problem {
                key: "PROPUSK_CONFIG".into(),
                message: format!("cannot read {}: {e}", path.display()),
            }],
        }),
    }
}

#[cfg(test)]
mod tests;
