use std::collections::BTreeMap;
use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn keys_of(e: ConfigError) -> Vec<String> {
    e.problems.into_iter().map(|p| p.key).collect()
}

#[test]
fn no_configuration_gives_the_embedded_default() {
    let config = Config::from_sources(&BTreeMap::new(), None).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.issuer_str(), "http://127.0.0.1:8080");
    assert!(matches!(config.database, DatabaseConfig::Sqlite(ref p) if p == Path::new("data/propusk.db")));
    assert!(config.redis.is_none());
    assert_eq!(config.access_token_ttl, Duration::minutes(10));
    assert_eq!(config.bcrypt_cost, 10);
    assert_eq!(config.redis_prefix, "propusk");
    assert!(!config.is_https());
}

#[test]
fn environment_values_are_typed() {
    let config = Config::from_sources(
        &env(&[
            ("PROPUSK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/propusk"),
            ("PROPUSK_REDIS_URL", "redis://127.0.0.1:6379"),
            ("PROPUSK_ACCESS_TOKEN_TTL", "90s"),
            ("PROPUSK_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
            ("PROPUSK_KAFKA_BROKERS", "127.0.0.1:9092,kafka:9093"),
            ("PROPUSK_ISSUER", "https://auth.example.com/"),
        ]),
        None,
    )
    .unwrap();
    assert!(matches!(config.database, DatabaseConfig::Postgres(ref u)
        if u.expose_secret() == "postgres://postgres@127.0.0.1:5432/propusk"));
    assert_eq!(config.redis.as_ref().unwrap().pool_size, 4);
    assert_eq!(config.access_token_ttl, Duration::seconds(90));
    assert!(config.trusted_proxies[0].contains("10.1.2.3".parse().unwrap()));
    assert!(!config.trusted_proxies[1].contains("192.168.1.8".parse().unwrap()));
    assert_eq!(config.kafka_brokers, vec!["127.0.0.1:9092", "kafka:9093"]);
    assert!(config.is_https());
    assert_eq!(config.issuer_str(), "https://auth.example.com");
}

#[test]
fn every_bad_value_is_named_with_its_expected_form() {
    let err = Config::from_sources(
        &env(&[
            ("PROPUSK_LISTEN", "nowhere"),
            ("PROPUSK_BCRYPT_COST", "99"),
            ("PROPUSK_ACCESS_TOKEN_TTL", "10 parsecs"),
            ("PROPUSK_LOG_FORMAT", "xml"),
            ("PROPUSK_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("PROPUSK_ISSUER", "ftp://x"),
        ]),
        None,
    )
    .unwrap_err();
    assert_eq!(
        keys_of(err.clone()),
        [
            "PROPUSK_LISTEN",
            "PROPUSK_ISSUER",
            "PROPUSK_ACCESS_TOKEN_TTL",
            "PROPUSK_BCRYPT_COST",
            "PROPUSK_TRUSTED_PROXIES",
            "PROPUSK_LOG_FORMAT"
        ]
    );
    let text = err.to_string();
    assert!(
        text.contains("PROPUSK_BCRYPT_COST: expected an integer from 4 to 31, got \"99\""),
        "{text}"
    );
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    let err = Config::from_sources(&env(&[("PROPUSK_MASTER_KEY", "short-secret")]), None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("PROPUSK_MASTER_KEY"));
    assert!(!text.contains("short-secret"), "{text}");
}

#[test]
fn the_file_is_read_and_the_environment_wins() {
    let file = "listen = \"0.0.0.0:9000\"\nPROPUSK_BCRYPT_COST = 12\ntrusted_proxies = [\"10.0.0.1\"]\n";
    let config = Config::from_sources(
        &env(&[("PROPUSK_LISTEN", "127.0.0.1:9001")]),
        Some((Path::new("propusk.toml"), file)),
    )
    .unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:9001");
    assert_eq!(config.bcrypt_cost, 12);
    assert_eq!(config.trusted_proxies.len(), 1);
}

#[test]
fn unknown_file_keys_and_bad_toml_are_refused() {
    let err = Config::from_sources(&BTreeMap::new(), Some((Path::new("p.toml"), "lisen = \"x\""))).unwrap_err();
    assert_eq!(keys_of(err), ["p.toml lisen"]);
    let err = Config::from_sources(&BTreeMap::new(), Some((Path::new("p.toml"), "listen = "))).unwrap_err();
    assert_eq!(keys_of(err), ["p.toml"]);
}

#[test]
fn durations_take_units() {
    assert_eq!(value::duration("30"), Some(Duration::seconds(30)));
    assert_eq!(value::duration("10m"), Some(Duration::minutes(10)));
    assert_eq!(value::duration("14d"), Some(Duration::days(14)));
    assert_eq!(value::duration("1w"), None);
    assert_eq!(value::duration("m"), None);
}

#[test]
fn sqlite_urls_take_both_spellings() {
    for url in ["sqlite://x/y.db", "sqlite:x/y.db", "sqlite://x/y.db?mode=rwc"] {
        let config = Config::from_sources(&env(&[("PROPUSK_DATABASE_URL", url)]), None).unwrap();
        assert!(
            matches!(config.database, DatabaseConfig::Sqlite(ref p) if p == Path::new("x/y.db")),
            "{url}"
        );
    }
}
