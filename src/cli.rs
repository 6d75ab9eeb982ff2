//! The command line (DESIGN.md, Command line): `serve`, `migrate`, `keys rotate` and the
//! `admin` commands, which call the same services as the HTTP API.

mod admin;
mod audit;
mod keys;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, SETTINGS};

/// Propusk: OAuth 2.0 / OpenID Connect authorization server and user service.
#[derive(Debug, Parser)]
#[command(name = "propusk", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    #[command(after_help = settings_help())]
    Serve,
    /// Apply pending database migrations and exit.
    #[command(after_help = settings_help())]
    Migrate,
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Create B2B accounts, users and applications.
    Admin {
        #[command(subcommand)]
        command: Box<admin::AdminCommand>,
    },
}

/// The settings table shown under `serve --help`.
fn settings_help() -> String {
    let mut out = String::from(
        "Configuration: environment variables PROPUSK_<KEY>, or the same keys in propusk.toml in the\n\
         working directory (PROPUSK_CONFIG names another file); the environment wins.\n\n",
    );
    for (key, default, what) in SETTINGS {
        out.push_str(&format!(
            "  PROPUSK_{key:<26} {what}\n  {:<34} default: {default}\n",
            ""
        ));
    }
    out
}

/// A failure to report on stderr; `lines` are printed one per line after the headline.
#[derive(Debug)]
pub(crate) struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// Runs a parsed command line; the exit code is 0 on success, 1 on any failure.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("propusk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match Config::load() {
        Err(e) => {
            eprintln!("propusk: invalid configuration");
            for p in &e.problems {
                eprintln!("  {}: {}", p.key, p.message);
            }
            return ExitCode::FAILURE;
        }
        Ok(config) => runtime.block_on(async move {
            match cli.command {
                Command::Serve => serve::serve(config).await,
                Command::Migrate => serve::migrate(config).await,
                Command::Keys { command } => keys::run(command, &config),
                Command::Audit { command } => audit::run(command, config).await,
                Command::Admin { command } => admin::run(*command, config).await,
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("propusk: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
