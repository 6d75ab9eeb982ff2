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
use crate::store::hot::{FeedReader, HotState};

const BATCH: i64 = 500;
const IDLE: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const PARTITIONS: i32 = 4;
/// Events waiting longer than this are late (`/readyz` says so; the relay logs the change).
pub const LATE_AFTER: Duration = Duration::from_secs(30);
/// How often the relay looks at how late events are.
const LATENESS_EVERY: Duration = Duration::from_secs(5);
/// How often a node without the relay lease tries to take it, and the holder checks it.
const LEASE_EVERY: Duration = Duration::from_secs(2);
/// How often sent rows past their retention are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Forwards the outbox to the brokers until the task is dropped.
pub struct Relay {
    /// The producer's settings, to make a new one after a fatal error.
    config: ClientConfig,
    db: Arc<dyn Database>,
    /// The revocation feed, forwarded to its own (compacted) topic.
    feed: Arc<HotState>,
    /// How long sent rows stay in the outbox.
    retention: time::Duration,
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
        retention: time::Duration,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers.join(","))
            .set("client.id", "propusk")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            // Topics are made only by the relay, with their settings (partitions, compaction of
            // the revocations): a produce never creates one with the broker's defaults. A topic
            // gone (an empty broker, a deleted topic) fails the delivery, and the relay makes it
            // again before resending.
            .set("allow.auto.create.topics", "false")
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
            retention,
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
        // Keyed by what was revoked: compaction keeps the latest word on each, and entries older
        // than twice the feed's span (when no live token can be affected) are deleted, so the
        // topic does not grow for ever without tombstones.
        let retention = (crate::store::hot::FEED_KEEP * 2_i32).whole_milliseconds().to_string();
        topics.push(
            NewTopic::new(&revocations, PARTITIONS, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact,delete")
                .set("retention.ms", &retention),
        );
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

    /// Whether events are late now; logs at warn when they become late, and when they catch up.
    async fn look_at_lateness(&self, was_late: bool) -> bool {
        let Ok(oldest) = self.db.outbox_oldest_unsent().await else {
            return was_late;
        };
        let age = oldest.map_or(0, |at| (time::OffsetDateTime::now_utc() - at).whole_seconds().max(0));
        let late = age > LATE_AFTER.as_secs() as i64;
        match (was_late, late) {
            (false, true) => tracing::warn!(
                oldest_unsent_seconds = age,
                "events are late: the brokers have not taken them"
            ),
            (true, false) => tracing::info!("events caught up"),
            _ => {}
        }
        late
    }

    /// Deletes the rows sent longer ago than the retention (`OUTBOX_RETENTION`).
    async fn purge(&self) {
        let before = time::OffsetDateTime::now_utc() - self.retention;
        match self.db.outbox_purge_sent(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "sent events past their retention left the outbox"),
            Err(e) => tracing::warn!(error = %e, "the outbox could not be purged; retrying later"),
        }
    }

    /// Runs forever: one batch at a time, in id order.
    pub async fn run(mut self) {
        let mut topics_ready = false;
        let mut last_purge: Option<std::time::Instant> = None;
        let mut last_look: Option<std::time::Instant> = None;
        let mut late = false;
        let mut backoff = Duration::from_millis(100);
        let mut lease: Option<Box<dyn crate::store::Lease>> = None;
        let mut lease_checked = std::time::Instant::now();
        loop {
            // One relay at a time across the nodes: order per key holds and two relays never
            // race over the same rows; when the holder dies, another takes over within
            // LEASE_EVERY.
            match &mut lease {
                None => match self.db.relay_lease().await {
                    Ok(Some(taken)) => {
                        tracing::info!("this node relays the outbox");
                        lease = Some(taken);
                        lease_checked = std::time::Instant::now();
                    }
                    Ok(None) => {
                        tokio::time::sleep(LEASE_EVERY).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot try for the relay lease; retrying");
                        tokio::time::sleep(LEASE_EVERY).await;
                        continue;
                    }
                },
                Some(held) if lease_checked.elapsed() >= LEASE_EVERY => {
                    lease_checked = std::time::Instant::now();
                    if !held.held().await {
                        tracing::warn!("the relay lease was lost; trying for it again");
                        lease = None;
                        continue;
                    }
                }
                Some(_) => {}
            }
            if !topics_ready {
                topics_ready = self.ensure_topics().await;
            }
            if last_look.is_none_or(|at| at.elapsed() >= LATENESS_EVERY) {
                late = self.look_at_lateness(late).await;
                last_look = Some(std::time::Instant::now());
            }
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                self.purge().await;
                last_purge = Some(std::time::Instant::now());
            }
            let forwarded = match self.forward_feed().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "revocation feed relay: broker or hot state unavailable");
                    self.recover();
                    topics_ready = false;
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
                    // A broker that came back empty (a replaced cluster) lost the topics.
                    topics_ready = false;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sends `(topic, key, payload)` records and waits for every acknowledgement. Returns how
    /// many lead the batch acknowledged without a gap (what may be marked sent), and the first
    /// failure; a failure also marks the producer for replacement ([`Relay::recover`]).
    async fn deliver(&self, records: &[(String, &str, String)]) -> (usize, Option<String>) {
        // Polled together, so every record is queued at once and librdkafka batches them (a
        // `send` future enqueues its record only when first polled: awaiting them one by one
        // sent one record per round trip, about 170 events/s).
        let deliveries = futures_util::future::join_all(records.iter().map(|(topic, key, payload)| {
            let record = FutureRecord::to(topic).key(*key).payload(payload);
            self.producer.send(record, Timeout::After(Duration::from_secs(10)))
        }))
        .await;
        let mut acknowledged = 0;
        let mut failure = None;
        for delivery in deliveries {
            match delivery {
                Ok(_) if failure.is_none() => acknowledged += 1,
                Ok(_) => {}
                Err((e, _)) => {
                    self.delivery_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    failure.get_or_insert(e.to_string());
                }
            }
        }
        (acknowledged, failure)
    }

    /// Forwards the revocation feed after the shared cursor, one batch; moves the cursor past the
    /// acknowledged prefix. Returns how many were sent. (Only the node holding the relay lease
    /// forwards; after a failure an entry may go twice: the topic is keyed and compacted, and a
    /// repeat says nothing new.)
    async fn forward_feed(&self) -> Result<usize, String> {
        let cursor = self
            .feed
            .feed_cursor(FeedReader::Kafka)
            .await
            .map_err(|e| e.to_string())?;
        let read = self
            .feed
            .feed(cursor.as_deref(), BATCH as usize)
            .await
            .map_err(|e| e.to_string())?;
        if read.entries.is_empty() {
            // Nothing readable: step over what was read, if anything.
            if let Some(last) = read.last.filter(|l| Some(l) != cursor.as_ref()) {
                self.feed
                    .set_feed_cursor(FeedReader::Kafka, &last, time::OffsetDateTime::now_utc())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            return Ok(0);
        }
        let batch = read.entries;
        let topic = self.topic(super::REVOCATIONS);
        // Keyed by kind and id: compaction keeps the latest word on each thing, and a user's
        // `sessions` and `user` generations (or a role and an application of one name) never
        // replace each other.
        let keys: Vec<String> = batch.iter().map(|(_, e)| format!("{}:{}", e.kind, e.id)).collect();
        let records: Vec<(String, &str, String)> = batch
            .iter()
            .zip(&keys)
            .map(|((_, entry), key)| {
                (
                    topic.clone(),
                    key.as_str(),
                    serde_json::to_string(entry).unwrap_or_default(),
                )
            })
            .collect();
        let (sent, failure) = self.deliver(&records).await;
        if let Some((id, _)) = sent.checked_sub(1).and_then(|last| batch.get(last)) {
            self.feed
                .set_feed_cursor(FeedReader::Kafka, id, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| e.to_string())?;
        }
        failure.map_or(Ok(sent), Err)
    }

    /// Sends one batch; marks sent the acknowledged prefix of it. Returns how many were sent.
    async fn forward_batch(&self) -> Result<usize, String> {
        let rows = self.db.outbox_unsent(BATCH).await.map_err(|e| e.to_string())?;
        let records: Vec<(String, &str, String)> = rows
            .iter()
            .map(|r| (self.topic(&r.topic), r.key.as_str(), r.payload.to_string()))
            .collect();
        let (sent, failure) = self.deliver(&records).await;
        let ids: Vec<i64> = rows.iter().take(sent).map(|r| r.id).collect();
        if !ids.is_empty() {
            self.db
                .outbox_mark_sent(&ids, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| e.to_string())?;
        }
        failure.map_or(Ok(sent), Err)
    }
}
