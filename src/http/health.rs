//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: every store answers;
//! 503 naming the one that does not, so a load balancer takes the node out).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::http::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn live() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let db = &state.stores.db;
    let hot = &state.stores.hot;
    let (db_result, hot_result) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, db.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, hot.ping()),
    );
    let mut checks = Map::new();
    let mut down = Vec::new();
    for (name, result) in [(db.engine(), db_result), (hot.name(), hot_result)] {
        let status = match result {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => {
                tracing::warn!(store = name, error = %e, "readiness check failed");
                down.push(name);
                "down".to_owned()
            }
            Err(_) => {
                tracing::warn!(store = name, "readiness check timed out");
                down.push(name);
                "timeout".to_owned()
            }
        };
        checks.insert(name.to_owned(), Value::String(status));
    }
    if !state.config.kafka_brokers.is_empty() {
        checks.insert("events".to_owned(), events_detail(&state).await);
    }
    if down.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready", "checks": checks }))).into_response()
    } else {
        let body = json!({ "status": "unavailable", "down": down, "checks": checks });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// Seconds since the oldest event still waiting for the broker was written (0: none waits).
async fn oldest_unsent_secs(state: &AppState) -> Option<i64> {
    let oldest = state.stores.db.outbox_oldest_unsent().await.ok()?;
    Some(oldest.map_or(0, |at| (state.clock.now() - at).whole_seconds().max(0)))
}

/// Whether events reach the brokers in time: a detail, not a reason to take the node out (the
/// outbox keeps them; the API works).
async fn events_detail(state: &AppState) -> Value {
    match oldest_unsent_secs(state).await {
        Some(age) => json!({
            "oldest_unsent_seconds": age,
            "late": age > crate::events::relay::LATE_AFTER.as_secs() as i64,
        }),
        None => json!({ "status": "unknown" }),
    }
}

/// `/metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let backlog = state.stores.db.outbox_backlog().await.ok();
    let oldest = oldest_unsent_secs(&state).await;
    let body = state.provider.metrics.render(backlog, oldest);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
