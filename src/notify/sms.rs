//! SMS providers: an HTTP webhook (a JSON POST `{"to", "text"}`; 5 s timeout; two retries with
//! backoff on network errors and 5xx, none on 4xx), and for development a provider that only
//! writes the message to the log.

use async_trait::async_trait;
use std::time::Duration;
use url::Url;

use super::NotifyError;

#[async_trait]
pub trait SmsSender: Send + Sync {
    fn name(&self) -> &'static str;
    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError>;
}

/// Posts each message to `PROPUSK_SMS_WEBHOOK_URL`.
pub struct Webhook {
    url: Url,
    client: reqwest::Client,
}

const TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];

impl Webhook {
    pub fn new(url: Url) -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { url, client }
    }
}

#[async_trait]
impl SmsSender for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "to": to, "text": text });
        let mut last = String::new();
        for attempt in 0..=BACKOFF.len() {
            if attempt > 0 {
                tokio::time::sleep(BACKOFF[attempt - 1]).await;
            }
            match self.client.post(self.url.clone()).json(&body).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if r.status().is_client_error() => {
                    return Err(NotifyError::Refused(format!("the SMS webhook answered {}", r.status())));
                }
                Ok(r) => last = format!("the SMS webhook answered {}", r.status()),
                Err(e) => last = format!("the SMS webhook failed: {}", e.without_url()),
            }
        }
        Err(NotifyError::Unavailable(last))
    }
}

/// Without a webhook. In development (an http issuer) the message goes to the log so codes can
/// be read there; otherwise nothing is sent and nothing secret is logged.
pub struct LogOnly {
    pub development: bool,
}

#[async_trait]
impl SmsSender for LogOnly {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        if self.development {
            tracing::warn!(
                to,
                text,
                "SMS not sent: no PROPUSK_SMS_WEBHOOK_URL (development provider)"
            );
            return Ok(());
        }
        tracing::warn!("SMS not sent: PROPUSK_SMS_WEBHOOK_URL is not set");
        Err(NotifyError::NotConfigured)
    }
}
