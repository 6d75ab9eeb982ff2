//! `/healthz`, `/readyz`, request ids and the fallback.

use propusk::config::RedisConfig;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{Backend, TcpProxy, TestApp, redis_addr};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn liveness_answers_on_the_embedded_default() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await, json!({ "status": "ok" }));
    app.stop().await;
}

#[tokio::test]
async fn readiness_names_the_stores_it_checked() {
    for (backend, checks) in [
        (Backend::Embedded, json!({ "sqlite": "ok", "memory": "ok" })),
        (Backend::PostgresRedis, json!({ "postgres": "ok", "redis": "ok" })),
    ] {
        let app = TestApp::spawn(backend).await;
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200, "{backend:?}");
        assert_eq!(
            json_of(response).await,
            json!({ "status": "ready", "checks": checks }),
            "{backend:?}"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_503_naming_redis_while_redis_is_cut_off() {
    let proxy = TcpProxy::start(redis_addr()).await;
    let url = format!("redis://{}", proxy.addr);
    let app = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        c.redis = Some(RedisConfig {
            url: SecretString::from(url),
            pool_size: 1,
        });
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = json_of(response).await;
    assert_eq!(body["down"], json!(["redis"]));
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(app.get("/healthz").await.status(), 200, "alive though not ready");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("propusk_component_up{component=\"hot_state\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("propusk_component_up{component=\"database\"} 1"),
        "{metrics}"
    );

    proxy.restore();
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once Redis is back");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("propusk_component_up{component=\"hot_state\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_gateways() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let response = app.get("/healthz").await;
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "gw-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "gw-123");
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let response = app.get("/no/such/thing?code=secret").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        json_of(response).await,
        json!({ "error": "not_found", "error_description": "no such endpoint" })
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_responses_tokens_and_the_outbox() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let service = app.service_app("operator", false).await;
    app.client_token(&service).await;
    app.get("/nowhere").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("propusk_tokens_issued_total{grant=\"client_credentials\"} 1"),
        "{text}"
    );
    assert!(text.contains("propusk_http_responses_total{class=\"4xx\"} 1"), "{text}");
    assert!(text.contains("propusk_outbox_backlog "), "{text}");
    app.stop().await;
}
