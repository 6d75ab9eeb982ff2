//! Events reach a real Kafka-protocol broker (tansu) through the outbox, as CloudEvents, and an
//! outage between Propusk and the broker delays them without losing any.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Backend, Broker, TcpProxy, TestApp, consume, free_port, kafka_brokers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_and_its_login_reach_kafka_as_cloud_events() {
    let brokers = kafka_brokers();
    let (app, topics) = TestApp::with_brokers(brokers.clone(), |_| {}).await;
    let id = app.user("ann", "operator", None).await;
    let wanted = id.clone();
    let events = consume(
        &brokers,
        &format!("{topics}propusk.user-events"),
        Duration::from_secs(30),
        move |seen| seen.iter().any(|(k, _)| *k == wanted),
    )
    .await;
    let (key, event) = events.iter().find(|(k, _)| *k == id).expect("user.created arrives");
    assert_eq!(key, &id, "keyed by user id");
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "user.created");
    assert_eq!(event["subject"], id.as_str());
    assert_eq!(event["source"], app.base.as_str());
    assert_eq!(event["data"]["username"], "ann");
    assert_eq!(event["data"]["role"], "operator");
    assert!(event["data"].get("password_hash").is_none());
    uuid::Uuid::parse_str(event["id"].as_str().unwrap()).unwrap();

    // A failed login is an audit record, and every audit record goes to propusk.audit.
    let rp = app.web_app(true).await;
    let legacy = app.password_app().await;
    let _ = rp;
    let response = app
        .post_form(
            "/token",
            Some(&legacy),
            &[
                ("grant_type", "password"),
                ("username", "ann"),
                ("password", "nope-nope-nope"),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let audit = consume(
        &brokers,
        &format!("{topics}propusk.audit"),
        Duration::from_secs(30),
        |seen| seen.iter().any(|(_, e)| e["type"] == "audit.login"),
    )
    .await;
    let (_, login) = audit
        .iter()
        .find(|(_, e)| e["type"] == "audit.login")
        .expect("the audit record arrives");
    assert_eq!(login["data"]["outcome"], "failure");
    assert_eq!(login["data"]["details"]["via"], "password_grant");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_delays_events_and_loses_none() {
    // A private broker that advertises the proxy, so every connection goes through it.
    let broker_port = free_port();
    let proxy = TcpProxy::start(format!("127.0.0.1:{broker_port}").parse().unwrap()).await;
    let _broker = Broker::start(broker_port, proxy.addr.port());
    let brokers = proxy.addr.to_string();
    let (app, topics) = TestApp::with_brokers(brokers.clone(), |_| {}).await;
    let topic = format!("{topics}propusk.user-events");
    let first = app.user("before", "operator", None).await;
    let wanted = first.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(30), move |s| {
        s.iter().any(|(k, _)| *k == wanted)
    })
    .await;
    assert!(
        seen.iter().any(|(k, _)| *k == first),
        "delivered while the broker is up"
    );

    proxy.cut();
    let mut during = Vec::new();
    for name in ["cut-a", "cut-b", "cut-c"] {
        during.push(app.user(name, "operator", None).await);
    }
    assert!(
        !app.state.stores.db.outbox_unsent(100).await.unwrap().is_empty(),
        "the API answers; events wait"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.restore();
    let expected: BTreeSet<String> = during.iter().cloned().chain([first.clone()]).collect();
    let want = expected.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(60), move |s| {
        let keys: BTreeSet<String> = s.iter().map(|(k, _)| k.clone()).collect();
        want.is_subset(&keys)
    })
    .await;
    let by_id: BTreeMap<String, &Value> = seen
        .iter()
        .map(|(_, e)| (e["id"].as_str().unwrap().to_owned(), e))
        .collect();
    let keys: BTreeSet<String> = by_id
        .values()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys, expected,
        "every event arrived; de-duplicated by id the set is exact"
    );
    assert_eq!(by_id.len(), expected.len(), "one user.created per user");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_role_change_and_block_arrive_in_order_for_the_user() {
    let brokers = kafka_brokers();
    let (app, topics) = TestApp::with_brokers(brokers.clone(), |_| {}).await;
    app.user("root", "admin", None).await;
    let ann = app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let root = app
        .code_tokens(&crate::support::Browser::default(), &rp, "root", "openid")
        .await;
    let root = root["access_token"].as_str().unwrap();
    let put = app
        .client
        .put(app.url(&format!("/admin/v1/users/{ann}/role")))
        .bearer_auth(root)
        .json(&serde_json::json!({"role": "admin"}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let block = app
        .client
        .post(app.url(&format!("/admin/v1/users/{ann}/block")))
        .bearer_auth(root);
    assert_eq!(block.send().await.unwrap().status(), 200);

    let wanted = ann.clone();
    let seen = consume(
        &brokers,
        &format!("{topics}propusk.user-events"),
        Duration::from_secs(30),
        move |s| s.iter().filter(|(k, _)| *k == wanted).count() >= 3,
    )
    .await;
    let mine: Vec<&Value> = seen.iter().filter(|(k, _)| *k == ann).map(|(_, e)| e).collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["user.created", "user.roleChanged", "user.blocked"],
        "in order, one partition per user"
    );
    assert_eq!(
        (mine[1]["data"]["old_role"].clone(), mine[1]["data"]["new_role"].clone()),
        (serde_json::json!("operator"), serde_json::json!("admin"))
    );
    assert_eq!(mine[2]["data"]["status"], "blocked");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_their_kafka_topic_keyed_by_what_was_revoked() {
    let brokers = kafka_brokers();
    let (app, topics) = TestApp::with_kafka().await;
    app.user("ann", "operator", None).await;
    let rp = app.web_app(true).await;
    let token = app.access_token(&rp, "ann").await;
    let jti = app.state.oauth.access_claims(&token).unwrap().jti.clone();
    app.revoke(&rp, &token).await;
    // A block: the user's generations, keyed by kind and user id.
    app.user("root", "admin", None).await;
    let admin = app.access_token(&rp, "root").await;
    let sub = app.state.oauth.access_claims(&token).unwrap().sub.clone();
    app.block(&admin, &sub).await;
    let (wanted, blocked) = (format!("jti:{jti}"), format!("user:{sub}"));
    let records = consume(
        &brokers,
        &format!("{topics}propusk.revocations"),
        Duration::from_secs(30),
        move |seen| seen.iter().any(|(k, _)| *k == wanted) && seen.iter().any(|(k, _)| *k == blocked),
    )
    .await;
    let (_, moved) = records
        .iter()
        .find(|(k, e)| *k == format!("user:{sub}") && e["kind"] == "user")
        .expect("the block arrives, keyed by kind and user id");
    assert!(moved["generation"].as_i64().unwrap() > 0);
    let (_, entry) = records
        .iter()
        .find(|(k, _)| *k == format!("jti:{jti}"))
        .expect("the revocation arrives, keyed by kind and jti");
    assert_eq!(entry["kind"], "jti");
    assert_eq!(entry["id"], jti.as_str());
    assert!(entry["until"].as_i64().unwrap() > 0);
    app.stop().await;
}

/// An outage longer than the producer's message timeout (10 s) leaves librdkafka's idempotent
/// producer in a fatal state; the relay replaces it, and every event — written during the cut
/// or after — still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_recovers_from_an_outage_longer_than_the_message_timeout() {
    let broker_port = free_port();
    let proxy = TcpProxy::start(format!("127.0.0.1:{broker_port}").parse().unwrap()).await;
    let _broker = Broker::start(broker_port, proxy.addr.port());
    let brokers = proxy.addr.to_string();
    let (app, topics) = TestApp::with_brokers(brokers.clone(), |_| {}).await;
    let topic = format!("{topics}propusk.user-events");
    let first = app.user("before", "operator", None).await;
    let wanted = first.clone();
    consume(&brokers, &topic, Duration::from_secs(30), move |s| {
        s.iter().any(|(k, _)| *k == wanted)
    })
    .await;

    proxy.cut();
    let during = app.user("during", "operator", None).await;
    tokio::time::sleep(Duration::from_secs(13)).await;
    // /readyz and /metrics say how long the oldest event has waited.
    app.clock.advance(time::Duration::seconds(13));
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    let waited = ready["checks"]["events"]["oldest_unsent_seconds"].as_i64().unwrap();
    assert!(waited >= 10, "{ready}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("propusk_outbox_oldest_unsent_seconds "), "{metrics}");
    proxy.restore();
    let after = app.user("after", "operator", None).await;
    let expected: BTreeSet<String> = [first, during, after].into_iter().collect();
    let want = expected.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(60), move |s| {
        let keys: BTreeSet<String> = s.iter().map(|(k, _)| k.clone()).collect();
        want.is_subset(&keys)
    })
    .await;
    let keys: BTreeSet<String> = seen.iter().map(|(k, _)| k.clone()).collect();
    assert!(
        expected.is_subset(&keys),
        "missing: {:?}",
        expected.difference(&keys).collect::<Vec<_>>()
    );
    app.stop().await;
}

/// Sent events leave the outbox once past `OUTBOX_RETENTION`; waiting ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_deletes_sent_events_past_their_retention() {
    use secrecy::ExposeSecret as _;
    use sqlx::Connection as _;
    // A node without brokers writes two events; one was sent three days ago.
    let first = TestApp::spawn(Backend::PostgresRedis).await;
    first.user("ann", "operator", None).await;
    first.user("bob", "operator", None).await;
    let db = first.state.stores.db.clone();
    let rows = db.outbox_unsent(10).await.unwrap();
    let (old, waiting) = (rows[0].id, rows[1].id);
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    db.outbox_mark_sent(&[old], long_ago).await.unwrap();
    let propusk::config::DatabaseConfig::Postgres(url) = first.state.config.database.clone() else {
        panic!("PostgreSQL")
    };
    first.stop().await;

    // A node with brokers and a one-hour retention on the same database: its relay deletes the
    // old row, and sends (and keeps) the waiting one.
    let shared = url.clone();
    let (app, _) = TestApp::with_kafka_and(move |c| {
        c.database = propusk::config::DatabaseConfig::Postgres(shared);
        c.outbox_retention = time::Duration::hours(1);
    })
    .await;
    let mut pg = sqlx::PgConnection::connect(url.expose_secret()).await.unwrap();
    let count = |id: i64| sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE id = $1").bind(id);
    let mut gone = false;
    for _ in 0..100 {
        if count(old).fetch_one(&mut pg).await.unwrap() == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the row sent three days ago is deleted");
    assert_eq!(
        count(waiting).fetch_one(&mut pg).await.unwrap(),
        1,
        "a row sent now stays"
    );
    app.stop().await;
}

/// Three nodes on one database: one relays (a PostgreSQL advisory lock), so each event reaches
/// Kafka once and in order; when it stops, another takes over within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_relay_each_event_once_and_another_takes_over() {
    let brokers = kafka_brokers();
    let (a, topics) = TestApp::with_kafka().await;
    let like = |first: &TestApp| {
        let c0 = first.config.clone();
        TestApp::spawn_with(Backend::PostgresRedis, move |c| {
            c.database = c0.database;
            c.redis_prefix = c0.redis_prefix;
            c.keys_dir = c0.keys_dir;
            c.issuer = c0.issuer;
            c.kafka_brokers = c0.kafka_brokers;
            c.kafka_topic_prefix = c0.kafka_topic_prefix;
        })
    };
    let b = like(&a).await;
    let c = like(&a).await;
    let mut ids = Vec::new();
    for (i, node) in [&a, &b, &c, &a, &b, &c].into_iter().enumerate() {
        ids.push(node.user(&format!("user{i}"), "operator", None).await);
    }
    let topic = format!("{topics}propusk.user-events");
    let want: BTreeSet<String> = ids.iter().cloned().collect();
    let expected = want.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(60), move |s| {
        let keys: BTreeSet<String> = s.iter().map(|(k, _)| k.clone()).collect();
        expected.is_subset(&keys)
    })
    .await;
    for id in &ids {
        let copies = seen
            .iter()
            .filter(|(k, e)| k == id && e["type"] == "user.created")
            .count();
        assert_eq!(copies, 1, "user.created of {id} arrived {copies} times");
    }

    // The first node (the relay: it started first) stops; the others carry on.
    a.stop().await;
    let late = b.user("after", "operator", None).await;
    let wanted = late.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(60), move |s| {
        s.iter().any(|(k, _)| *k == wanted)
    })
    .await;
    assert!(seen.iter().any(|(k, _)| *k == late), "another node took over the relay");
    b.stop().await;
    c.stop().await;
}

/// A broker that comes back empty (a replaced cluster, topics gone): the relay makes the topics
/// again, and events written before and after reach the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_comes_back_empty_gets_its_topics_and_events_again() {
    let broker_port = free_port();
    let broker = Broker::start(broker_port, broker_port);
    let brokers = format!("127.0.0.1:{broker_port}");
    let (app, topics) = TestApp::with_brokers(brokers.clone(), |_| {}).await;
    let topic = format!("{topics}propusk.user-events");
    let first = app.user("first", "operator", None).await;
    let wanted = first.clone();
    consume(&brokers, &topic, Duration::from_secs(30), move |s| {
        s.iter().any(|(k, _)| *k == wanted)
    })
    .await;

    drop(broker);
    let during = app.user("during", "operator", None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _empty = Broker::start(broker_port, broker_port);
    let after = app.user("after", "operator", None).await;
    let want: BTreeSet<String> = [during, after].into_iter().collect();
    let expected = want.clone();
    let seen = consume(&brokers, &topic, Duration::from_secs(60), move |s| {
        let keys: BTreeSet<String> = s.iter().map(|(k, _)| k.clone()).collect();
        expected.is_subset(&keys)
    })
    .await;
    let keys: BTreeSet<String> = seen.iter().map(|(k, _)| k.clone()).collect();
    assert!(
        want.is_subset(&keys),
        "missing: {:?}",
        want.difference(&keys).collect::<Vec<_>>()
    );
    // The producer never creates a topic (auto-creation is off): the relay made them again,
    // the revocations topic with its compaction.
    let policy = topic_config(&brokers, &format!("{topics}propusk.revocations"), "cleanup.policy").await;
    assert_eq!(policy.as_deref(), Some("compact,delete"));
    app.stop().await;
}

/// The value of `name` in `topic`'s configuration, as the broker describes it.
async fn topic_config(brokers: &str, topic: &str, name: &str) -> Option<String> {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &options)
        .await
        .unwrap();
    let resource = described.into_iter().next()?.ok()?;
    resource.get(name).and_then(|e| e.value.clone())
}
