//! `propusk serve` and `propusk migrate`.

use std::time::Instant;

use super::Failure;
use crate::app::{App, shutdown_signal};
use crate::config::Config;
use crate::{store, telemetry};

pub(super) async fn serve(config: Config) -> Result<(), Failure> {
    let started = Instant::now();
    telemetry::init(config.log_format, &config.log_level);
    let engine = config.database.engine();
    let hot = if config.redis.is_some() { "redis" } else { "memory" };
    if !config.is_https() {
        tracing::warn!(issuer = %config.issuer_str(), "the issuer is not https: fine for development only");
    }
    let app = App::build(config).await?;
    tracing::info!(
        addr = %app.local_addr(),
        database = engine,
        hot_store = hot,
        startup_ms = started.elapsed().as_millis() as u64,
        "propusk is listening"
    );
    app.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub(super) async fn migrate(config: Config) -> Result<(), Failure> {
    telemetry::init(config.log_format, "warn");
    let db = store::connect_database(&config).await?;
    db.close().await;
    println!("migrations applied ({})", config.database.engine());
    Ok(())
}
