//! Bad configuration stops the binary with a message naming the key; `serve --help` lists every
//! setting.

use propusk::config::SETTINGS;

use crate::{propusk, stderr, stdout};

#[test]
fn a_bad_value_stops_start_up_naming_the_key_and_the_expected_form() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "PROPUSK_BCRYPT_COST",
            "abc",
            "PROPUSK_BCRYPT_COST: expected an integer from 4 to 31, got \"abc\"",
        ),
        ("PROPUSK_LISTEN", "localhost", "PROPUSK_LISTEN: expected host:port"),
        (
            "PROPUSK_DATABASE_URL",
            "mysql://x/y",
            "PROPUSK_DATABASE_URL: expected postgres://… or sqlite://path, got [redacted]",
        ),
        (
            "PROPUSK_ACCESS_TOKEN_TTL",
            "5s",
            "PROPUSK_ACCESS_TOKEN_TTL: expected a duration from 30s to 24h",
        ),
        (
            "PROPUSK_LOG_FORMAT",
            "yaml",
            "PROPUSK_LOG_FORMAT: expected text or json",
        ),
        ("PROPUSK_REDIS_URL", "http://x", "PROPUSK_REDIS_URL: expected redis://"),
    ];
    for (key, value, message) in cases {
        for args in [
            &["serve"][..],
            &["migrate"],
            &["admin", "client", "create", "--name", "X"],
        ] {
            let output = propusk(dir.path(), &[(key, value)], args, "");
            assert_eq!(output.status.code(), Some(1), "{key}={value} {args:?}");
            assert!(stderr(&output).contains(message), "{key}={value}: {}", stderr(&output));
        }
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("propusk.toml"),
        "listen = \"127.0.0.1:0\"\nbcrypt = 12\n",
    )
    .unwrap();
    let output = propusk(dir.path(), &[], &["migrate"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("propusk.toml bcrypt: unknown setting"),
        "{}",
        stderr(&output)
    );
    let output = propusk(dir.path(), &[("PROPUSK_CONFIG", "missing.toml")], &["migrate"], "");
    assert!(
        stderr(&output).contains("PROPUSK_CONFIG: cannot read missing.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn serve_help_documents_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = propusk(dir.path(), &[], &["serve", "--help"], "");
    assert!(output.status.success());
    let help = stdout(&output);
    for (key, default, _) in SETTINGS {
        assert!(
            help.contains(&format!("PROPUSK_{key}")),
            "{key} missing from serve --help"
        );
        assert!(help.contains(default), "the default of {key} missing");
    }
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = propusk(dir.path(), &[], &["migrate"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "migrations applied (sqlite)");
    assert!(dir.path().join("data/propusk.db").exists());
}
