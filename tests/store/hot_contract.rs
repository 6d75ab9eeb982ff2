//! What every hot-state store must do: Redis across nodes, the in-process store in one.

use std::collections::BTreeSet;
use std::sync::Arc;

use propusk::clock::{Clock as _, unix_millis};
use propusk::store::hot::{LogLine, Rate, Taken, Throttle};
use time::Duration;

use crate::HotFixture;

pub async fn values_expire_by_the_clock(f: HotFixture) {
    let exp = f.clock.now() + Duration::seconds(60);
    f.hot.put("code:a", b"v1", exp).await.unwrap();
    assert_eq!(f.hot.get("code:a").await.unwrap().as_deref(), Some(&b"v1"[..]));
    f.clock.advance(Duration::seconds(59));
    assert!(f.hot.get("code:a").await.unwrap().is_some());
    f.clock.advance(Duration::seconds(1));
    assert_eq!(
        f.hot.get("code:a").await.unwrap(),
        None,
        "expired at the stored time, not by TTL"
    );
    assert_eq!(f.hot.get("code:missing").await.unwrap(), None);
}

pub async fn put_replaces_the_value_and_its_used_mark(f: HotFixture) {
    let exp = f.clock.now() + Duration::seconds(60);
    f.hot.put("k:1", b"old", exp).await.unwrap();
    assert_eq!(f.hot.take("k:1").await.unwrap(), Taken::First(b"old".to_vec()));
    f.hot.put("k:1", b"new", exp).await.unwrap();
    assert_eq!(f.hot.take("k:1").await.unwrap(), Taken::First(b"new".to_vec()));
}

pub async fn put_new_stores_only_when_absent_or_expired(f: HotFixture) {
    let exp = f.clock.now() + Duration::seconds(10);
    assert!(f.hot.put_new("lock:x", b"a", exp).await.unwrap());
    assert!(!f.hot.put_new("lock:x", b"b", exp).await.unwrap());
    assert_eq!(f.hot.get("lock:x").await.unwrap().as_deref(), Some(&b"a"[..]));
    f.clock.advance(Duration::seconds(10));
    assert!(
        f.hot
            .put_new("lock:x", b"c", f.clock.now() + Duration::seconds(10))
            .await
            .unwrap()
    );
    assert_eq!(f.hot.get("lock:x").await.unwrap().as_deref(), Some(&b"c"[..]));
}

pub async fn take_is_single_use_until_expiry(f: HotFixture) {
    f.hot
        .put("code:c", b"grant", f.clock.now() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(f.hot.take("code:c").await.unwrap(), Taken::First(b"grant".to_vec()));
    assert_eq!(f.hot.take("code:c").await.unwrap(), Taken::Again(b"grant".to_vec()));
    assert_eq!(
        f.hot.get("code:c").await.unwrap().as_deref(),
        Some(&b"grant"[..]),
        "kept until expiry"
    );
    f.clock.advance(Duration::seconds(60));
    assert_eq!(f.hot.take("code:c").await.unwrap(), Taken::Missing);
    assert_eq!(f.hot.take("code:never").await.unwrap(), Taken::Missing);
}

pub async fn take_is_atomic_under_concurrency(f: HotFixture) {
    f.hot
        .put("code:race", b"x", f.clock.now() + Duration::seconds(60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let hot = Arc::clone(&f.hot);
            tokio::spawn(async move { hot.take("code:race").await.unwrap() })
        })
        .collect();
    let mut first = 0;
    for task in tasks {
        match task.await.unwrap() {
            Taken::First(_) => first += 1,
            Taken::Again(_) => {}
            Taken::Missing => panic!("the value was there"),
        }
    }
    assert_eq!(first, 1, "exactly one taker wins");
}

pub async fn delete_reports_whether_something_live_was_there(f: HotFixture) {
    f.hot
        .put("s:1", b"x", f.clock.now() + Duration::seconds(5))
        .await
        .unwrap();
    assert!(f.hot.delete("s:1").await.unwrap());
    assert!(!f.hot.delete("s:1").await.unwrap());
    assert_eq!(f.hot.get("s:1").await.unwrap(), None);
    f.hot
        .put("s:2", b"x", f.clock.now() + Duration::seconds(5))
        .await
        .unwrap();
    f.clock.advance(Duration::seconds(6));
    assert!(!f.hot.delete("s:2").await.unwrap(), "expired counts as absent");
    f.hot
        .set_add("set:1", "m", f.clock.now() + Duration::seconds(5))
        .await
        .unwrap();
    assert!(f.hot.delete("set:1").await.unwrap());
    assert!(f.hot.set_members("set:1").await.unwrap().is_empty());
}

pub async fn counters_count_within_their_window_and_restart_after_it(f: HotFixture) {
    let start = unix_millis(f.clock.now());
    for n in 1..=3 {
        let c = f.hot.incr("rate:ip", Duration::seconds(60)).await.unwrap();
        assert_eq!(c.count, n);
        assert_eq!(unix_millis(c.resets_at), start + 60_000, "millisecond precision");
        f.clock.advance(Duration::seconds(10));
    }
    f.clock.advance(Duration::seconds(30));
    let c = f.hot.incr("rate:ip", Duration::seconds(60)).await.unwrap();
    assert_eq!(c.count, 1, "a new window");
    assert_eq!(unix_millis(c.resets_at), unix_millis(f.clock.now()) + 60_000);
}

pub async fn counters_are_atomic_under_concurrency(f: HotFixture) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let hot = Arc::clone(&f.hot);
            tokio::spawn(async move { hot.incr("rate:burst", Duration::seconds(60)).await.unwrap().count })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap());
    }
    assert_eq!(
        seen,
        (1..=50).collect::<BTreeSet<u64>>(),
        "every increment counted once"
    );
}

pub async fn generations_only_move_forward(f: HotFixture) {
    let exp = f.clock.now() + Duration::days(31);
    assert_eq!(
        f.hot.get("gen:user:1").await.unwrap(),
        None,
        "absent reads as none (generation 0)"
    );
    assert_eq!(f.hot.advance("gen:user:1", 0, exp).await.unwrap(), 1);
    assert_eq!(f.hot.advance("gen:user:1", 0, exp).await.unwrap(), 2);
    assert_eq!(f.hot.get("gen:user:1").await.unwrap().as_deref(), Some(&b"2"[..]));
    let floor = f.clock.now().unix_timestamp();
    assert_eq!(
        f.hot.advance("gen:user:1", floor, exp).await.unwrap(),
        floor,
        "the floor wins"
    );
    assert_eq!(
        f.hot.advance("gen:user:1", floor, exp).await.unwrap(),
        floor + 1,
        "then one more"
    );
    let got = f
        .hot
        .get_many(&["gen:user:1".to_owned(), "gen:user:2".to_owned()])
        .await
        .unwrap();
    assert_eq!(got, vec![Some((floor + 1).to_string().into_bytes()), None]);
    f.clock.advance(Duration::days(32));
    assert_eq!(f.hot.get("gen:user:1").await.unwrap(), None, "expired with the horizon");
    let later = f.clock.now().unix_timestamp();
    assert_eq!(
        f.hot
            .advance("gen:user:1", later, f.clock.now() + Duration::days(31))
            .await
            .unwrap(),
        later,
        "an expired counter starts again above every value handed out before"
    );
}

pub async fn generations_advance_atomically(f: HotFixture) {
    let exp = f.clock.now() + Duration::days(31);
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let hot = Arc::clone(&f.hot);
            tokio::spawn(async move { hot.advance("gen:role:x", 0, exp).await.unwrap() })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap());
    }
    assert_eq!(
        seen,
        (1..=40).collect::<BTreeSet<i64>>(),
        "no two callers got the same generation"
    );
}

pub async fn set_members_expire_one_by_one(f: HotFixture) {
    let now = f.clock.now();
    f.hot
        .set_add("sessions:u1", "s1", now + Duration::seconds(10))
        .await
        .unwrap();
    f.hot
        .set_add("sessions:u1", "s2", now + Duration::seconds(20))
        .await
        .unwrap();
    f.hot
        .set_add("sessions:u1", "s0", now + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(f.hot.set_members("sessions:u1").await.unwrap(), ["s0", "s1", "s2"]);
    f.clock.advance(Duration::seconds(10));
    assert_eq!(f.hot.set_members("sessions:u1").await.unwrap(), ["s0", "s2"]);
    f.clock.advance(Duration::seconds(10));
    assert_eq!(f.hot.set_members("sessions:u1").await.unwrap(), ["s0"]);
    f.hot
        .set_add("sessions:u1", "s1", f.clock.now() + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        f.hot.set_members("sessions:u1").await.unwrap(),
        ["s0", "s1"],
        "re-added with a new expiry"
    );
    assert!(f.hot.set_members("sessions:nobody").await.unwrap().is_empty());
}

pub async fn set_remove_and_contains(f: HotFixture) {
    let exp = f.clock.now() + Duration::seconds(10);
    f.hot.set_add("fam:1", "a", exp).await.unwrap();
    f.hot.set_add("fam:1", "b", exp).await.unwrap();
    assert!(f.hot.set_contains("fam:1", "a").await.unwrap());
    assert!(f.hot.set_remove("fam:1", "a").await.unwrap());
    assert!(!f.hot.set_remove("fam:1", "a").await.unwrap());
    assert!(!f.hot.set_contains("fam:1", "a").await.unwrap());
    assert!(!f.hot.set_contains("fam:none", "a").await.unwrap());
    f.clock.advance(Duration::seconds(10));
    assert!(
        !f.hot.set_contains("fam:1", "b").await.unwrap(),
        "expired members are gone"
    );
}

pub async fn a_key_holds_one_kind_of_entry(f: HotFixture) {
    f.hot
        .set_add("mixed:1", "m", f.clock.now() + Duration::seconds(10))
        .await
        .unwrap();
    assert!(
        f.hot.get("mixed:1").await.is_err(),
        "reading a set as a value is an error, not garbage"
    );
    assert!(f.hot.incr("mixed:1", Duration::seconds(1)).await.is_err());
}

pub async fn the_store_answers_pings(f: HotFixture) {
    f.hot.ping().await.unwrap();
    assert!(["redis", "memory"].contains(&f.hot.name()));
}

pub async fn get_many_reads_several_keys_at_once(f: HotFixture) {
    let now = f.clock.now();
    f.hot.put("deny:a", b"1", now + Duration::seconds(10)).await.unwrap();
    f.hot.put("deny:b", b"2", now + Duration::seconds(1)).await.unwrap();
    f.clock.advance(Duration::seconds(1));
    let keys = ["deny:a", "deny:b", "deny:c"].map(String::from);
    let values = f.hot.get_many(&keys).await.unwrap();
    assert_eq!(values, [Some(b"1".to_vec()), None, None]);
    assert!(f.hot.get_many(&[]).await.unwrap().is_empty());
}

pub async fn throttle_allows_a_burst_then_refills_smoothly(f: HotFixture) {
    let rate = Rate::new(5, Duration::minutes(1));
    let bucket = vec![("rl:ip:1".to_owned(), rate)];
    for left in (0..5).rev() {
        assert_eq!(
            f.hot.throttle(&bucket).await.unwrap(),
            Throttle::Allowed { remaining: vec![left] }
        );
    }
    let Throttle::Limited { index, retry_after_ms } = f.hot.throttle(&bucket).await.unwrap() else {
        panic!("the sixth request in a minute is limited");
    };
    assert_eq!((index, retry_after_ms), (0, 12_000), "one request refills every 12 s");
    f.clock.advance(Duration::seconds(11));
    assert!(matches!(
        f.hot.throttle(&bucket).await.unwrap(),
        Throttle::Limited { .. }
    ));
    f.clock.advance(Duration::seconds(1));
    assert_eq!(
        f.hot.throttle(&bucket).await.unwrap(),
        Throttle::Allowed { remaining: vec![0] }
    );
    f.clock.advance(Duration::minutes(2));
    assert_eq!(
        f.hot.throttle(&bucket).await.unwrap(),
        Throttle::Allowed { remaining: vec![4] },
        "an idle bucket is full again"
    );
}

pub async fn throttle_counts_all_buckets_or_none(f: HotFixture) {
    let wide = ("rl:ip:2".to_owned(), Rate::new(10, Duration::minutes(1)));
    let narrow = ("rl:acct:2".to_owned(), Rate::new(1, Duration::minutes(1)));
    let both = vec![wide.clone(), narrow.clone()];
    assert_eq!(
        f.hot.throttle(&both).await.unwrap(),
        Throttle::Allowed { remaining: vec![9, 0] }
    );
    let Throttle::Limited { index, .. } = f.hot.throttle(&both).await.unwrap() else {
        panic!("the narrow bucket is full");
    };
    assert_eq!(index, 1, "names the full bucket");
    assert_eq!(
        f.hot.throttle(&[wide]).await.unwrap(),
        Throttle::Allowed { remaining: vec![8] },
        "the refused request was not counted in the wide bucket"
    );
}

pub async fn throttle_is_atomic_under_concurrency(f: HotFixture) {
    let bucket = vec![("rl:burst".to_owned(), Rate::new(20, Duration::hours(1)))];
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (hot, bucket) = (Arc::clone(&f.hot), bucket.clone());
            tokio::spawn(async move { matches!(hot.throttle(&bucket).await.unwrap(), Throttle::Allowed { .. }) })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap());
    }
    assert_eq!(allowed, 20, "exactly the burst gets through");
}

pub async fn throttle_keeps_rates_above_a_thousand_a_second(f: HotFixture) {
    // 4000/s: one request every 250 µs, finer than a millisecond.
    let bucket = vec![("rl:fast".to_owned(), Rate::new(4000, Duration::seconds(1)))];
    for _ in 0..4000 {
        assert!(matches!(
            f.hot.throttle(&bucket).await.unwrap(),
            Throttle::Allowed { .. }
        ));
    }
    let Throttle::Limited { retry_after_ms, .. } = f.hot.throttle(&bucket).await.unwrap() else {
        panic!("the burst is spent");
    };
    assert_eq!(retry_after_ms, 1, "250 µs, rounded up");
    f.clock.advance(Duration::milliseconds(1));
    let mut allowed = 0;
    while let Throttle::Allowed { .. } = f.hot.throttle(&bucket).await.unwrap() {
        allowed += 1;
    }
    assert_eq!(allowed, 4, "four requests refill in a millisecond");
}

pub async fn logs_keep_order_resume_after_an_id_and_drop_old_entries(f: HotFixture) {
    let keep = Duration::hours(1);
    let a = f.hot.log_append("feed", b"a", keep).await.unwrap();
    let b = f.hot.log_append("feed", b"b", keep).await.unwrap();
    let c = f.hot.log_append("feed", b"c", keep).await.unwrap();
    let all = f.hot.log_read("feed", None, 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(all[1].1, b"b".to_vec());
    let after_a = f.hot.log_read("feed", Some(&a), 10).await.unwrap();
    assert_eq!(
        after_a.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        [b"b".to_vec(), b"c".to_vec()]
    );
    assert_eq!(f.hot.log_read("feed", Some(&a), 1).await.unwrap().len(), 1, "limit");
    assert!(f.hot.log_read("feed", Some(&c), 10).await.unwrap().is_empty());
    assert!(f.hot.log_read("nothing", None, 10).await.unwrap().is_empty());

    // Entries older than what the log keeps go as the next one is added.
    let short = Duration::milliseconds(300);
    f.hot.log_append("short", b"old", short).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    f.clock.advance(Duration::milliseconds(400));
    f.hot.log_append("short", b"new", short).await.unwrap();
    let left = f.hot.log_read("short", None, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        [b"new".to_vec()]
    );
}

pub async fn logged_writes_append_their_line_in_the_same_step(f: HotFixture) {
    let keep = Duration::hours(1);
    let until = f.clock.now() + Duration::minutes(5);
    let line = |head: &'static [u8], tail: &'static [u8]| LogLine {
        log: "feed",
        keep,
        head,
        tail,
    };
    f.hot
        .put_logged("deny:a", b"1", until, &line(b"denied a", b""))
        .await
        .unwrap();
    assert_eq!(f.hot.get("deny:a").await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(
        f.hot
            .advance_logged("gen:u", 0, until, &line(b"u=", b";"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        f.hot
            .advance_logged("gen:u", 7, until, &line(b"u=", b";"))
            .await
            .unwrap(),
        7
    );
    let entries: Vec<Vec<u8>> = f
        .hot
        .log_read("feed", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(entries, [b"denied a".to_vec(), b"u=1;".to_vec(), b"u=7;".to_vec()]);

    // A log key that holds something else refuses the write, and the value is not written.
    f.hot.put("not-a-log", b"x", until).await.unwrap();
    let bad = LogLine {
        log: "not-a-log",
        ..line(b"", b"")
    };
    assert!(f.hot.put_logged("deny:b", b"1", until, &bad).await.is_err());
    assert_eq!(f.hot.get("deny:b").await.unwrap(), None);
    assert!(f.hot.advance_logged("gen:v", 0, until, &bad).await.is_err());
    assert_eq!(f.hot.get("gen:v").await.unwrap(), None);
}
