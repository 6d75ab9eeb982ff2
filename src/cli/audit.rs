//! `propusk audit verify`: walks the audit chain and names the first altered, missing or
//! reordered row.

use clap::Subcommand;

use super::Failure;
use crate::audit::Auditor;
use crate::config::Config;
use crate::keys::{MasterKey, Purpose};
use crate::{store, telemetry};

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check the HMAC chain of audit_logs from the first row to the last (exit 1 if broken).
    Verify {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(command: AuditCommand, config: Config) -> Result<(), Failure> {
    telemetry::init(config.log_format, "warn");
    let AuditCommand::Verify { json } = command;
    let master = MasterKey::load_or_create(&config)?;
    let db = store::connect_database(&config).await?;
    let auditor = Auditor::new(db.clone(), &master.derive(Purpose::AuditChain), config.issuer_str());
    let result = auditor.verify().await;
    db.close().await;
    let verification = result?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "rows": verification.rows, "intact": verification.broken_at.is_none(), "broken_at": verification.broken_at })
        );
    }
    match verification.broken_at {
        None => {
            if !json {
                println!("audit chain intact: {} rows", verification.rows);
            }
            Ok(())
        }
        Some(problem) => Err(Failure(format!(
            "audit chain broken after {} intact rows: {problem}",
            verification.rows
        ))),
    }
}
