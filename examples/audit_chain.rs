//! A bench helper (`bench/scale`): appends N audit records through the server's own `Auditor`,
//! so they form the real HMAC chain `propusk audit verify` checks, four writers at a time, and
//! prints how fast they went. Configured like `propusk serve` (PROPUSK_DATABASE_URL, …).
//!
//!   cargo run --release --example audit_chain -- 100000

use std::sync::Arc;
use std::time::Instant;

use propusk::audit::{AuditRecord, Auditor};
use propusk::keys::{MasterKey, Purpose};
use propusk::model::audit::Action;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    propusk::crypto::install_tls_provider();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let config = propusk::config::Config::load()?;
    let master = MasterKey::load_or_create(&config)?;
    let db = propusk::store::connect_database(&config).await?;
    let auditor = Arc::new(Auditor::new(
        db,
        &master.derive(Purpose::AuditChain),
        config.issuer_str(),
    ));
    let started = Instant::now();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let auditor = auditor.clone();
            tokio::spawn(async move {
                for i in (w..n).step_by(4) {
                    let details = serde_json::json!({ "n": i });
                    let record = AuditRecord::change(
                        time::OffsetDateTime::now_utc(),
                        Action::UserUpdate,
                        "user",
                        &format!("user{i}"),
                        None,
                        details,
                    );
                    auditor.record(record).await?;
                }
                Ok::<_, propusk::model::StoreError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} audit records appended in {secs:.1} s: {:.0} records/s",
        n as f64 / secs
    );
    Ok(())
}
