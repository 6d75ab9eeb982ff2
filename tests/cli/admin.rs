//! `propusk admin …` on both relational stores: what it creates, and what it refuses without
//! writing anything.

use std::path::Path;

use serde_json::Value;
use sqlx::Connection as _;

use crate::{propusk, stderr, stdout, support};

const PASSWORD: &str = "correct horse battery\n";

/// Where the CLI writes: the embedded SQLite default, or a PostgreSQL database.
enum Target {
    Sqlite(tempfile::TempDir),
    Postgres(tempfile::TempDir, String),
}

impl Target {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A database name that does not exist yet: the CLI must create it.
    fn postgres() -> Self {
        let url = format!("{}/propusk_t_{}", support::pg_server(), uuid::Uuid::new_v4().simple());
        Self::Postgres(tempfile::tempdir().unwrap(), url)
    }

    fn dir(&self) -> &Path {
        match self {
            Self::Sqlite(d) | Self::Postgres(d, _) => d.path(),
        }
    }

    fn run(&self, args: &[&str], stdin: &str) -> std::process::Output {
        match self {
            Self::Sqlite(d) => propusk(d.path(), &[], args, stdin),
            Self::Postgres(d, url) => propusk(d.path(), &[("PROPUSK_DATABASE_URL", url)], args, stdin),
        }
    }

    /// Runs a command that must succeed and print one JSON object.
    fn json(&self, args: &[&str], stdin: &str) -> Value {
        let output = self.run(args, stdin);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let out = stdout(&output);
        assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
        serde_json::from_str(&out).unwrap()
    }

    /// Row counts of the tables the admin commands write.
    async fn counts(&self) -> [i64; 3] {
        let tables = ["clients", "users", "applications"];
        let mut out = [0; 3];
        match self {
            Self::Sqlite(d) => {
                let url = format!("sqlite://{}", d.path().join("data/propusk.db").display());
                let mut con = sqlx::SqliteConnection::connect(&url).await.unwrap();
                for (i, t) in tables.iter().enumerate() {
                    out[i] = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                        .fetch_one(&mut con)
                        .await
                        .unwrap();
                }
            }
            Self::Postgres(_, url) => {
                let mut con = sqlx::PgConnection::connect(url).await.unwrap();
                for (i, t) in tables.iter().enumerate() {
                    out[i] = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                        .fetch_one(&mut con)
                        .await
                        .unwrap();
                }
            }
        }
        out
    }
}

async fn creates_accounts_users_and_applications(target: Target) {
    let account = target.json(&["admin", "client", "create", "--name", "ACME Logistics", "--json"], "");
    assert_eq!(account["slug"], "acme-logistics");
    let account_id = account["id"].as_str().unwrap().to_owned();
    uuid::Uuid::parse_str(&account_id).unwrap();

    let admin = target.json(
        &[
            "admin",
            "user",
            "create",
            "--username",
            "Root",
            "--role",
            "admin",
            "--email",
            "root@example.com",
            "--password-stdin",
            "--json",
        ],
        PASSWORD,
    );
    assert_eq!(admin["username"], "root");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["client_id"], Value::Null);
    assert!(admin.get("password_hash").is_none(), "never printed");

    let member = target.json(
        &[
            "admin",
            "user",
            "create",
            "--username",
            "ann",
            "--role",
            "client_user",
            "--client",
            "acme-logistics",
            "--phone",
            "+4915112345678",
            "--name",
            "Ann Lee",
            "--password-stdin",
            "--json",
        ],
        PASSWORD,
    );
    assert_eq!(member["client_id"], account_id.as_str());
    assert_eq!(member["phone"], "+4915112345678");
    let by_id = target.json(
        &[
            "admin",
            "user",
            "create",
            "--username",
            "bob",
            "--role",
            "client_admin",
            "--client",
            &account_id,
            "--password-stdin",
            "--json",
        ],
        PASSWORD,
    );
    assert_eq!(by_id["client_id"], account_id.as_str());

    let web = target.json(
        &[
            "admin",
            "app",
            "create",
            "--name",
            "Tracking web",
            "--redirect-uri",
            "https://track.example.com/cb",
            "--post-logout-redirect-uri",
            "https://track.example.com/",
            "--first-party",
            "--json",
        ],
        "",
    );
    assert_eq!(
        web["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(web["client_secret"].as_str().unwrap().len(), 43, "256 bits, base64url");
    let spa = target.json(
        &[
            "admin",
            "app",
            "create",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--json",
        ],
        "",
    );
    assert!(spa.get("client_secret").is_none());
    let service = target.json(
        &[
            "admin",
            "app",
            "create",
            "--name",
            "Gateway",
            "--grant",
            "client_credentials",
            "--role",
            "admin",
            "--introspect",
            "--resource",
            "https://billing.example.com",
            "--json",
        ],
        "",
    );
    assert_eq!(service["grant_types"], serde_json::json!(["client_credentials"]));
    assert_eq!(service["resources"], serde_json::json!(["https://billing.example.com"]));
    let tenant_service = target.json(
        &[
            "admin",
            "app",
            "create",
            "--name",
            "ACME ERP",
            "--role",
            "client_user",
            "--account",
            "acme-logistics",
            "--scope",
            "parcels",
            "--json",
        ],
        "",
    );
    assert_eq!(tenant_service["scope"], "parcels");
    assert_eq!(target.counts().await, [1, 3, 4]);
    let verify = target.run(&["audit", "verify"], "");
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(
        stdout(&verify).starts_with("audit chain intact: 8 rows in "),
        "every CLI change is on the record: {}",
        stdout(&verify)
    );
}

#[tokio::test]
async fn creates_accounts_users_and_applications_on_sqlite() {
    creates_accounts_users_and_applications(Target::sqlite()).await;
}

#[tokio::test]
async fn creates_accounts_users_and_applications_on_postgres_creating_the_database() {
    creates_accounts_users_and_applications(Target::postgres()).await;
}

#[tokio::test]
async fn secrets_are_stored_only_as_sha256() {
    let target = Target::sqlite();
    let app = target.json(
        &[
            "admin",
            "app",
            "create",
            "--name",
            "S",
            "--grant",
            "client_credentials",
            "--json",
        ],
        "",
    );
    let secret = app["client_secret"].as_str().unwrap();
    let url = format!("sqlite://{}", target.dir().join("data/propusk.db").display());
    let mut con = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM applications")
        .fetch_one(&mut con)
        .await
        .unwrap();
    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    assert_eq!(stored, expected.as_ref());
}

/// Each case: a name, the arguments, stdin, and a fragment of the one-line error.
const REFUSALS: &[(&str, &[&str], &str, &str)] = &[
    (
        "bad username",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "a b",
            "--role",
            "admin",
            "--password-stdin",
        ],
        PASSWORD,
        "username: must be 3-64 characters",
    ),
    (
        "bad email",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "admin",
            "--email",
            "eve@",
            "--password-stdin",
        ],
        PASSWORD,
        "email: must be an email address",
    ),
    (
        "bad phone",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "admin",
            "--phone",
            "0151 123",
            "--password-stdin",
        ],
        PASSWORD,
        "phone: must be an E.164 phone number",
    ),
    (
        "password over 72 bytes",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "ääääääääääääääääääääääääääääääääääääää",
        "password: is longer than 72 bytes",
    ),
    (
        "short password",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "short\n",
        "password: must be at least 10 characters",
    ),
    (
        "no password",
        &["admin", "user", "create", "--username", "eve", "--role", "admin"],
        "",
        "a password is required",
    ),
    (
        "unknown role",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "superuser",
            "--password-stdin",
        ],
        PASSWORD,
        "role: no role \"superuser\"",
    ),
    (
        "account role without account",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "client_user",
            "--password-stdin",
        ],
        PASSWORD,
        "client: client_user is an account role",
    ),
    (
        "staff role with account",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "operator",
            "--client",
            "acme",
            "--password-stdin",
        ],
        PASSWORD,
        "client: operator is a staff role",
    ),
    (
        "unknown account",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "client_user",
            "--client",
            "globex",
            "--password-stdin",
        ],
        PASSWORD,
        "no B2B account \"globex\"",
    ),
    (
        "duplicate username",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "ROOT",
            "--role",
            "admin",
            "--password-stdin",
        ],
        PASSWORD,
        "username \"root\" is already taken",
    ),
    (
        "duplicate email",
        &[
            "admin",
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "admin",
            "--email",
            "ROOT@example.com",
            "--password-stdin",
        ],
        PASSWORD,
        "email is already used",
    ),
    (
        "duplicate slug",
        &["admin", "client", "create", "--name", "Acme"],
        "",
        "slug \"acme\" is already taken",
    ),
    (
        "bad slug",
        &["admin", "client", "create", "--name", "X", "--slug", "Not A Slug"],
        "",
        "slug: must be 2-63 characters",
    ),
    (
        "blank name",
        &["admin", "client", "create", "--name", "  "],
        "",
        "name: must be 1-200 characters",
    ),
    (
        "plain http redirect",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--redirect-uri",
            "http://app.example.com/cb",
        ],
        "",
        "redirect_uri: \"http://app.example.com/cb\" must use https",
    ),
    (
        "redirect with fragment",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--redirect-uri",
            "https://a.example/cb#x",
        ],
        "",
        "must not have a fragment",
    ),
    (
        "code grant without redirect",
        &["admin", "app", "create", "--name", "W", "--grant", "authorization_code"],
        "",
        "needs at least one redirect URI",
    ),
    (
        "unknown grant",
        &["admin", "app", "create", "--name", "W", "--grant", "implicit"],
        "",
        "grant: must be one of",
    ),
    (
        "public client credentials",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--public",
            "--grant",
            "client_credentials",
        ],
        "",
        "public applications cannot use client_credentials",
    ),
    (
        "public introspection",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--public",
            "--redirect-uri",
            "https://a.example/cb",
            "--introspect",
        ],
        "",
        "only confidential applications may introspect",
    ),
    (
        "role without client_credentials",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--redirect-uri",
            "https://a.example/cb",
            "--role",
            "admin",
        ],
        "",
        "a service role needs the client_credentials grant",
    ),
    (
        "account role without account",
        &["admin", "app", "create", "--name", "W", "--role", "client_user"],
        "",
        "account: client_user is an account role",
    ),
    (
        "staff role with account",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--role",
            "admin",
            "--account",
            "acme",
        ],
        "",
        "account: admin is a staff role",
    ),
    (
        "bad scope",
        &[
            "admin",
            "app",
            "create",
            "--name",
            "W",
            "--grant",
            "client_credentials",
            "--scope",
            "a\\b",
        ],
        "",
        "scope: \"a\\\\b\" is not a valid scope token",
    ),
    (
        "no grant at all",
        &["admin", "app", "create", "--name", "W"],
        "",
        "give a --grant",
    ),
];

async fn refuses_bad_input_and_writes_nothing(target: Target) {
    target.json(&["admin", "client", "create", "--name", "Acme", "--json"], "");
    target.json(
        &[
            "admin",
            "user",
            "create",
            "--username",
            "root",
            "--role",
            "admin",
            "--email",
            "root@example.com",
            "--password-stdin",
            "--json",
        ],
        PASSWORD,
    );
    let before = target.counts().await;
    for (case, args, stdin, message) in REFUSALS {
        let output = target.run(args, stdin);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains(message), "{case}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{case}: one line: {err}");
        assert!(stdout(&output).is_empty(), "{case}");
    }
    assert_eq!(target.counts().await, before, "nothing written");
}

#[tokio::test]
async fn refuses_bad_input_and_writes_nothing_on_sqlite() {
    refuses_bad_input_and_writes_nothing(Target::sqlite()).await;
}

#[tokio::test]
async fn refuses_bad_input_and_writes_nothing_on_postgres() {
    refuses_bad_input_and_writes_nothing(Target::postgres()).await;
}

#[tokio::test]
async fn creates_identity_providers_with_a_sealed_secret() {
    let target = Target::sqlite();
    target.json(&["admin", "client", "create", "--name", "Acme", "--json"], "");
    let idp = target.json(
        &[
            "admin",
            "idp",
            "create",
            "--client",
            "acme",
            "--issuer",
            "https://login.acme.example",
            "--client-id",
            "propusk",
            "--client-secret-stdin",
            "--domain",
            "Acme.Example",
            "--jit",
            "--default-role",
            "client_user",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--role-rule",
            "groups=logistics-admins:client_admin",
            "--sso-required",
            "--accept-upstream-mfa",
            "--json",
        ],
        "upstream-secret-value\n",
    );
    assert_eq!(idp["issuer"], "https://login.acme.example");
    assert_eq!(idp["scopes"], serde_json::json!(["openid", "email"]));
    assert_eq!(
        idp["role_rules"],
        serde_json::json!([{ "claim": "groups", "value": "logistics-admins", "role": "client_admin" }])
    );
    assert_eq!(
        (idp["sso_required"].clone(), idp["accept_upstream_mfa"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(idp["domains"], serde_json::json!(["acme.example"]));
    assert_eq!(idp["has_client_secret"], true);
    assert!(!idp.to_string().contains("upstream-secret-value"));
    let url = format!("sqlite://{}", target.dir().join("data/propusk.db").display());
    let mut con = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT client_secret_enc FROM identity_providers")
        .fetch_one(&mut con)
        .await
        .unwrap();
    assert!(
        !sealed.windows(6).any(|w| w == b"upstre"),
        "sealed, not stored as typed"
    );

    let refused = target.run(
        &[
            "admin",
            "idp",
            "create",
            "--client",
            "acme",
            "--issuer",
            "http://idp.example",
            "--client-id",
            "x",
            "--json",
        ],
        "",
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("issuer"), "{}", stderr(&refused));
    let jit_without_role = target.run(
        &[
            "admin",
            "idp",
            "create",
            "--client",
            "acme",
            "--issuer",
            "https://a.example",
            "--client-id",
            "x",
            "--jit",
        ],
        "",
    );
    assert!(
        stderr(&jit_without_role).contains("default_role"),
        "{}",
        stderr(&jit_without_role)
    );
}
