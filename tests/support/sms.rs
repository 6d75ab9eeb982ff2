//! A local webhook standing in for an SMS provider.

use super::*;

/// A local HTTP endpoint standing in for an SMS provider: it records each JSON body, and
/// answers 503 to the first `fail_first` requests.
pub struct SmsSink {
    pub url: url::Url,
    pub received: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl SmsSink {
    pub async fn start(fail_first: usize) -> Self {
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (r, c) = (received.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let (r, c) = (r.clone(), c.clone());
                async move {
                    if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    r.lock().unwrap().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: url::Url::parse(&format!("http://{addr}/sms")).unwrap(),
            received,
            calls,
        }
    }

    /// The texts received for `to`, waiting up to 5 s for at least `n`.
    pub async fn texts_to(&self, to: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let texts: Vec<String> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b["to"] == to)
                .map(|b| b["text"].as_str().unwrap().to_owned())
                .collect();
            if texts.len() >= n {
                return texts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {n} texts to {to} arrived");
    }
}
