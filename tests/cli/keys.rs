//! `propusk keys rotate`: a new active key per algorithm, the previous one still published,
//! older ones retired.

use propusk::keys::Keyring;
use propusk::model::application::SigningAlg;
use serde_json::Value;

use crate::{propusk, stderr, stdout};

fn rotate(dir: &std::path::Path) -> Vec<String> {
    let output = propusk(dir, &[], &["keys", "rotate", "--json"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let v: Value = serde_json::from_str(&stdout(&output)).unwrap();
    v["kids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rotation_keeps_the_previous_key_published_and_retires_older_ones() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let first = Keyring::load_or_create(&keys).unwrap();
    let original: Vec<String> = first.published().map(|k| k.kid.clone()).collect();
    assert_eq!(original.len(), 2);

    let second = rotate(dir.path());
    let ring = Keyring::load_or_create(&keys).unwrap();
    let published: Vec<String> = ring.published().map(|k| k.kid.clone()).collect();
    assert_eq!(published.len(), 4, "new and previous of each algorithm");
    for kid in second.iter().chain(&original) {
        assert!(published.contains(kid), "{kid} published");
    }
    let signing = |ring: &Keyring, at: time::OffsetDateTime| -> Vec<String> {
        SigningAlg::ALL
            .iter()
            .map(|alg| ring.active_at(*alg, at).unwrap().kid().to_owned())
            .collect()
    };
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(signing(&ring, now), original, "new keys are only published at first");
    let later = now + propusk::keys::keyring::ACTIVATION_DELAY + time::Duration::seconds(1);
    assert_eq!(
        signing(&ring, later),
        second,
        "and sign once every node and cache knows them"
    );

    let third = rotate(dir.path());
    let ring = Keyring::load_or_create(&keys).unwrap();
    let published: Vec<String> = ring.published().map(|k| k.kid.clone()).collect();
    assert_eq!(published.len(), 4);
    for kid in &original {
        assert!(!published.contains(kid), "the oldest keys are retired");
    }
    for kid in third.iter().chain(&second) {
        assert!(published.contains(kid));
    }
    assert_eq!(std::fs::read_dir(keys.join("retired")).unwrap().count(), 2);
}
