//! Redis behaviour beyond the shared contract: key layout, cleanup TTLs, reconnection.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use propusk::clock::{Clock as _, ManualClock};
use propusk::store::StoreError;
use propusk::store::hot::HotStore as _;
use propusk::store::redis::RedisStore;
use redis::AsyncCommands as _;
use time::Duration;

use crate::support;

#[tokio::test]
async fn keys_live_under_the_prefix_with_a_cleanup_ttl() {
    let prefix = support::unique_prefix();
    let clock = ManualClock::starting_now();
    let store = RedisStore::connect(&support::redis_url(), &prefix, 1, Arc::new(clock.clone()))
        .await
        .unwrap();
    store
        .put("code:abc", b"x", clock.now() + Duration::seconds(60))
        .await
        .unwrap();
    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = con.keys(format!("{prefix}:*")).await.unwrap();
    assert_eq!(keys, [format!("{prefix}:code:abc")]);
    let ttl: i64 = con.pttl(format!("{prefix}:code:abc")).await.unwrap();
    assert!(
        ttl > 60_000 && ttl <= 120_000,
        "TTL only reclaims space after expiry: {ttl}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reconnects_after_redis_comes_back() {
    let proxy = support::TcpProxy::start(support::redis_addr()).await;
    let clock = ManualClock::starting_now();
    let url = format!("redis://{}", proxy.addr);
    let store = RedisStore::connect(&url, &support::unique_prefix(), 1, Arc::new(clock.clone()))
        .await
        .unwrap();
    let exp = clock.now() + Duration::seconds(60);
    store.put("k:1", b"before", exp).await.unwrap();

    proxy.cut();
    let failed = store.get("k:1").await;
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "an outage is reported, not hidden: {failed:?}"
    );
    assert!(store.ping().await.is_err());

    proxy.restore();
    let mut recovered = None;
    for _ in 0..50 {
        if let Ok(v) = store.get("k:1").await {
            recovered = v;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(
        recovered.as_deref(),
        Some(&b"before"[..]),
        "the data and the connection are back"
    );
    store.put("k:2", b"after", exp).await.unwrap();
}
