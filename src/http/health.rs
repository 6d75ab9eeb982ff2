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

/// Pings the relational and hot stores; each one's name and state (`ok`, `down`, `timeout`).
/// The state goes to the `propusk_component_up` gauge, and a change to the log (warn when a
/// store goes away, info when it is back).
async fn check_stores(state: &AppState) -> Vec<(&'static str, &'static str)> {
    let db = &state.stores.db;
    let hot = &state.stores.hot;
    let (db_result, hot_result) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, db.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, hot.ping()),
    );
    let mut states = Vec::new();
    for (index, (name, result)) in [(db.engine(), db_result), (hot.name(), hot_result)]
        .into_iter()
        .enumerate()
    {
        let (status, error) = match result {
            Ok(Ok(())) => ("ok", None),
            Ok(Err(e)) => ("down", Some(e.to_string())),
            Err(_) => ("timeout", Some("no answer in time".to_owned())),
        };
        if state.provider.metrics.component(index, status == "ok") {
            match &error {
                Some(e) => tracing::warn!(store = name, state = status, error = %e, "a store is unavailable"),
                None => tracing::info!(store = name, "a store is available again"),
            }
        }
        states.push((name, status));
    }
    states
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = Map::new();
    let mut down = Vec::new();
    for (name, status) in check_stores(&state).await {
        if status != "ok" {
            down.push(name);
        }
        checks.insert(name.to_owned(), Value::String(status.to_owned()));
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
    check_stores(&state).await;
    let backlog = state.stores.db.outbox_backlog().await.ok();
    let oldest = oldest_unsent_secs(&state).await;
    let body = state.provider.metrics.render(backlog, oldest);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
