//! Logging and request tracing: a `tracing` subscriber (text or JSON), and one span per HTTP
//! request carrying its request id. Query strings are never logged: they carry codes and tokens.
//! Prometheus counters live in [`metrics`].

pub mod metrics;

use axum::http::{Request, Response};
use tower_http::request_id::RequestId;
use tracing::Span;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests starting many apps) do nothing.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}

/// The span every request runs in.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request.id = %id,
        http.method = %request.method(),
        http.path = %request.uri().path(),
        http.status = tracing::field::Empty,
    )
}

/// Records the outcome of a request on its span and logs one line for it.
pub fn record_response<B>(response: &Response<B>, latency: std::time::Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("http.status", status);
    let millis = latency.as_secs_f64() * 1_000.0;
    if response.status().is_server_error() {
        tracing::error!(parent: span, status, latency_ms = millis, "request failed");
    } else {
        tracing::debug!(parent: span, status, latency_ms = millis, "request served");
    }
}
