//! A bench helper (`bench/scale`): writes N audit records forming the real HMAC chain
//! `propusk audit verify` checks, and prints how fast they went. Configured like `propusk serve`
//! (PROPUSK_DATABASE_URL, …).
//!
//!   cargo run --release --example audit_chain -- 100000          # through the server's Auditor
//!   cargo run --release --example audit_chain -- 10000000 --bulk # sealed here, loaded by COPY
//!
//! The first appends one record at a time through `Auditor::record`, four writers at once (the
//! platform's ceiling of audited actions per second). The second seals the same chain with
//! `Auditor::chain_link` and loads it with PostgreSQL's COPY into an empty chain, to have
//! millions of rows to verify in minutes.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use propusk::audit::{AuditRecord, Auditor, GENESIS};
use propusk::keys::{MasterKey, Purpose};
use propusk::model::audit::Action;
use sqlx::postgres::PgPoolCopyExt as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    propusk::crypto::install_tls_provider();
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let bulk = args.next().as_deref() == Some("--bulk");
    let config = propusk::config::Config::load()?;
    let master = MasterKey::load_or_create(&config)?;
    let db = propusk::store::connect_database(&config).await?;
    let auditor = Arc::new(Auditor::new(
        db,
        &master.derive(Purpose::AuditChain),
        config.issuer_str(),
    ));
    let started = Instant::now();
    if bulk {
        let url = std::env::var("PROPUSK_DATABASE_URL")?;
        load(&auditor, &url, n).await?;
    } else {
        append(&auditor, n).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let how = if bulk { "sealed and loaded by COPY" } else { "appended" };
    println!(
        "{n} audit records {how} in {secs:.1} s: {:.0} records/s",
        n as f64 / secs
    );
    Ok(())
}

fn record(i: usize, at: time::OffsetDateTime) -> AuditRecord {
    let action = [Action::UserUpdate, Action::Login, Action::Logout, Action::Consent][i % 4];
    AuditRecord::change(
        at,
        action,
        "user",
        &format!("user{i}"),
        None,
        serde_json::json!({ "n": i }),
    )
}

/// Four writers through the server's own `Auditor::record`.
async fn append(auditor: &Arc<Auditor>, n: usize) -> anyhow::Result<()> {
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let auditor = auditor.clone();
            tokio::spawn(async move {
                for i in (w..n).step_by(4) {
                    auditor.record(record(i, time::OffsetDateTime::now_utc())).await?;
                }
                Ok::<_, propusk::model::StoreError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    Ok(())
}

fn hex(bytes: &[u8], out: &mut String) {
    out.push_str("\\\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// Seals rows 1..=n here and loads them with COPY, 50,000 at a time; then the sealed head.
async fn load(auditor: &Auditor, url: &str, n: usize) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(url).await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(existing == 0, "--bulk starts a chain: audit_logs must be empty");
    let base = time::OffsetDateTime::now_utc().replace_nanosecond(0)? - time::Duration::seconds(n as i64);
    let mut prev = GENESIS.to_vec();
    let mut head = Vec::new();
    let mut id = 1;
    while id <= n {
        let mut rows = String::with_capacity(50_000 * 400);
        while id <= n && rows.len() < 50_000 * 350 {
            let r = record(id, base + time::Duration::seconds(id as i64));
            let (hmac, seal) = auditor.chain_link(id as i64, &prev, &r);
            let at = r.occurred_at.format(&time::format_description::well_known::Rfc3339)?;
            let _ = write!(
                rows,
                "{id}\t{at}\t{}\t{}\t\\N\t\\N\t\\N\t{}\t{}\t{}\t{}\t{}\t",
                r.actor_type.as_str(),
                r.actor_id.as_deref().unwrap_or_default(),
                r.action,
                r.target_type.as_deref().unwrap_or_default(),
                r.target_id.as_deref().unwrap_or_default(),
                r.outcome.as_str(),
                r.details,
            );
            hex(&prev, &mut rows);
            rows.push('\t');
            hex(&hmac, &mut rows);
            rows.push('\n');
            prev = hmac;
            head = seal;
            id += 1;
        }
        let mut copy = pool
            .copy_in_raw(
                "COPY audit_logs (id, occurred_at, actor_type, actor_id, client_id, ip, user_agent, action, \
                 target_type, target_id, outcome, details, prev_hmac, hmac) FROM STDIN",
            )
            .await?;
        copy.send(rows.as_bytes()).await?;
        copy.finish().await?;
    }
    sqlx::query(
        "INSERT INTO audit_head (id, last_id, seal) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, seal = excluded.seal",
    )
    .bind(n as i64)
    .bind(head)
    .execute(&pool)
    .await?;
    Ok(())
}
