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
    let started = std::time::Instant::now();
    let result = auditor.verify().await;
    let seconds = started.elapsed().as_secs_f64();
    db.close().await;
    let verification = result?;
    // It reads the chain a page at a time: its memory does not grow with the trail.
    let rate = (verification.rows as f64 / seconds.max(1e-6)).round();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "rows": verification.rows,
                "intact": verification.broken_at.is_none(),
                "broken_at": verification.broken_at,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "rows_per_second": rate,
            })
        );
    }
    match verification.broken_at {
        None => {
            if !json {
                println!(
                    "audit chain intact: {} rows in {seconds:.1} s ({rate} rows/s)",
                    verification.rows
                );
            }
            Ok(())
        }
        Some(problem) => Err(Failure(format!(
            "audit chain broken after {} intact rows: {problem}",
            verification.rows
        ))),
    }
}
