//! The outbox relay: forwards outbox rows to Kafka in id order and marks them sent only after
//! the broker acknowledged them (acks=all, idempotent producer). While the broker is away it
//! retries with backoff; nothing is lost, and a row is at worst delivered twice (consumers
//! de-duplicate by the CloudEvent `id`).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::store::Database;
use crate::store::hot::HotState;

const BATCH: i64 = 500;
const IDLE: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const PARTITIONS: i32 = 4;

/// Forwards the outbox to the brokers until the task is dropped.
pub struct Relay {
    /// The producer's settings, to make a new one after a fatal error.
    config: ClientConfig,
    db: Arc<dyn Database>,
    /// The revocation feed, forwarded to its own (compacted) topic.
    feed: Arc<HotState>,
    /// A delivery failed since the producer was made (see [`Relay::recover`]).
    delivery_failed: std::sync::atomic::AtomicBool,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    prefix: String,
}

impl Relay {
    /// A relay for `brokers`; topics are named `{prefix}{topic}`.
    pub fn new(
        db: Arc<dyn Database>,
        feed: Arc<HotState>,
        brokers: &[String],
        prefix: &str,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers.join(","))
            .set("client.id", "propusk")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "10000")
            .set("socket.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "2000");
        Ok(Self {
            producer: config.create()?,
            admin: config.create()?,
            config,
            db,
            feed,
            delivery_failed: Default::default(),
            prefix: prefix.to_owned(),
        })
    }

    fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Creates Propusk's topics when missing (ignoring "already exists").
    async fn ensure_topics(&self) -> bool {
        let names = [self.topic(super::USER_EVENTS), self.topic(super::AUDIT)];
        let revocations = self.topic(super::REVOCATIONS);
        let mut topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic::new(n, PARTITIONS, TopicReplication::Fixed(1)))
            .collect();
        // Keyed by what was revoked: compaction keeps the latest word on each.
        topics
            .push(NewTopic::new(&revocations, PARTITIONS, TopicReplication::Fixed(1)).set("cleanup.policy", "compact"));
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
        match self.admin.create_topics(&topics, &options).await {
            Ok(results) => results.iter().all(|r| match r {
                Ok(_) => true,
                Err((_, code)) => *code == rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot create the Kafka topics yet");
                false
            }
        }
    }

    /// After a failure: a producer whose deliveries failed is replaced. librdkafka's idempotent
    /// producer does not come back by itself from every failure — after an outage longer than
    /// the message timeout its sequence has a gap and the broker answers `ProducerFenced` for as
    /// long as it lives — so a new one (a new producer id) continues from the outbox and the feed
    /// cursor. Nothing is lost: rows are marked sent only once acknowledged.
    fn recover(&mut self) {
        let fatal = self.producer.client().fatal_error();
        let failed = self.delivery_failed.swap(false, std::sync::atomic::Ordering::Relaxed);
        if fatal.is_none() && !failed {
            return;
        }
        tracing::warn!(fatal = ?fatal, "the Kafka producer failed; starting a new one");
        match self.config.create() {
            Ok(producer) => self.producer = producer,
            Err(e) => tracing::error!(error = %e, "cannot create a new Kafka producer; retrying"),
        }
    }

    /// Runs forever: one batch at a time, in id order.
    pub async fn run(mut self) {
        let mut topics_ready = false;
        let mut backoff = Duration::from_millis(100);
        loop {
            if !topics_ready {
                topics_ready = self.ensure_topics().await;
            }
            let forwarded = match self.forward_feed().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "revocation feed relay: broker or hot state unavailable");
                    self.recover();
                    0
                }
            };
            match self.forward_batch().await.map(|n| n + forwarded) {
                Ok(0) => {
                    backoff = Duration::from_millis(100);
                    tokio::time::sleep(IDLE).await;
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay: broker or database unavailable");
                    self.recover();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Forwards the revocation feed after the shared cursor, one batch; moves the cursor past the
    /// acknowledged prefix. Returns how many were sent. (Several nodes may forward the same
    /// entries: the topic is keyed and compacted, and a repeat says nothing new.)
    async fn forward_feed(&self) -> Result<usize, String> {
        let cursor = self.feed.feed_cursor().await.map_err(|e| e.to_string())?;
        let batch = self
            .feed
            .feed(cursor.as_deref(), BATCH as usize)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(0);
        }
        let topic = self.topic(super::REVOCATIONS);
        let payloads: Vec<String> = batch
            .iter()
            .map(|(_, entry)| serde_json::to_string(entry).unwrap_or_default())
            .collect();
        let deliveries: Vec<_> = batch
            .iter()
            .zip(&payloads)
            .map(|((_, entry), payload)| {
                let record = FutureRecord::to(&topic).key(&entry.id).payload(payload);
                self.producer.send(record, Timeout::After(Duration::from_secs(10)))
            })
            .collect();
        let mut acknowledged = None;
        let mut failure = None;
        let mut sent = 0;
        for ((id, _), delivery) in batch.iter().zip(deliveries) {
            match delivery.await {
                Ok(_) if failure.is_none() => {
                    acknowledged = Some(id);
                    sent += 1;
                }
                Ok(_) => {}
                Err((e, _)) => {
                    self.delivery_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    failure.get_or_insert(e.to_string());
                }
            }
        }
        if let Some(id) = acknowledged {
            self.feed
                .set_feed_cursor(id, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| e.to_string())?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Sends one batch; marks sent the acknowledged prefix of it. Returns how many were sent.
    async fn forward_batch(&self) -> Result<usize, String> {
        let rows = self.db.outbox_unsent(BATCH).await.map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(0);
        }
        let payloads: Vec<(String, String)> = rows
            .iter()
            .map(|r| (self.topic(&r.topic), r.payload.to_string()))
            .collect();
        let deliveries: Vec<_> = rows
            .iter()
            .zip(&payloads)
            .map(|(row, (topic, payload))| {
                let record = FutureRecord::to(topic).key(&row.key).payload(payload);
                self.producer.send(record, Timeout::After(Duration::from_secs(10)))
            })
            .collect();
        let mut sent = Vec::new();
        let mut failure = None;
        for (row, delivery) in rows.iter().zip(deliveries) {
            match delivery.await {
                Ok(_) if failure.is_none() => sent.push(row.id),
                Ok(_) => {}
                Err((e, _)) => {
                    self.delivery_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    failure.get_or_insert(e.to_string());
                }
            }
        }
        if !sent.is_empty() {
            self.db
                .outbox_mark_sent(&sent, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| e.to_string())?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(sent.len()),
        }
    }
}
