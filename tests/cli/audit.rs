//! `propusk audit verify` from the command line.

use sqlx::Connection as _;

use crate::{propusk, stderr, stdout};

#[tokio::test]
async fn verify_reports_an_intact_chain_and_exits_1_on_a_forged_row() {
    let dir = tempfile::tempdir().unwrap();
    let output = propusk(dir.path(), &[], &["audit", "verify"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("audit chain intact: 0 rows in "),
        "{}",
        stdout(&output)
    );
    let output = propusk(dir.path(), &[], &["audit", "verify", "--json"], "");
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(report["intact"], true);
    assert!(
        report["seconds"].is_number() && report["rows_per_second"].is_number(),
        "{report}"
    );

    let url = format!("sqlite://{}", dir.path().join("data/propusk.db").display());
    let mut con = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO audit_logs (id, occurred_at, actor_type, action, outcome, details, prev_hmac, hmac) \
         VALUES (1, '2026-01-01T00:00:00Z', 'system', 'login', 'success', '{}', zeroblob(32), zeroblob(32))",
    )
    .execute(&mut con)
    .await
    .unwrap();
    con.close().await.unwrap();

    let output = propusk(dir.path(), &[], &["audit", "verify", "--json"], "");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["broken_at"], "row 1 was altered");
    assert!(stderr(&output).contains("audit chain broken after 0 intact rows: row 1 was altered"));
}
