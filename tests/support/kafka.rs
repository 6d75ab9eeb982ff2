//! The test Kafka broker (tansu): the shared one `scripts/test` starts, private ones for outage
//! tests, and a consumer.

use super::*;

/// The test Kafka broker `scripts/test` started (required: tests fail without it).
pub fn kafka_brokers() -> String {
    std::env::var("PROPUSK_TEST_KAFKA_BROKERS")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_KAFKA_BROKERS is not set: run the tests with scripts/test"))
}

/// A private tansu broker (for outage tests) listening on `port`, advertising `advertised`.
pub struct Broker(std::process::Child);

impl Broker {
    pub fn start(port: u16, advertised: u16) -> Self {
        let bin = std::env::var("PROPUSK_TEST_TANSU")
            .unwrap_or_else(|_| panic!("PROPUSK_TEST_TANSU is not set: run the tests with scripts/test"));
        let child = std::process::Command::new(bin)
            .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
            .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads `topic` from the beginning of every partition until `done` says enough or `timeout`
/// passes; returns (key, CloudEvent) pairs in the order read.
pub async fn consume(
    brokers: &str,
    topic: &str,
    timeout: std::time::Duration,
    done: impl Fn(&[(String, serde_json::Value)]) -> bool + Send + 'static,
) -> Vec<(String, serde_json::Value)> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::{ClientConfig, Message as _, Offset, TopicPartitionList};
    let brokers = brokers.to_owned();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", format!("test-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let deadline = std::time::Instant::now() + timeout;
        let partitions = loop {
            let found = consumer
                .fetch_metadata(Some(&topic), std::time::Duration::from_secs(2))
                .ok()
                .and_then(|m| m.topics().first().map(|t| t.partitions().len()))
                .unwrap_or(0);
            if found > 0 || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition_offset(&topic, p as i32, Offset::Beginning).unwrap();
        }
        consumer.assign(&list).unwrap();
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline && !done(&seen) {
            if let Some(Ok(message)) = consumer.poll(std::time::Duration::from_millis(200)) {
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                let value = serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
                seen.push((key, value));
            }
        }
        seen
    })
    .await
    .unwrap()
}
