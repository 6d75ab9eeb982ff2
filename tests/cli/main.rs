//! The `propusk` binary as an operator uses it: configuration errors, `serve --help`, the
//! admin commands on SQLite and PostgreSQL, `keys rotate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/support.rs"]
mod support;

mod admin;
mod audit;
mod config;
mod keys;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `propusk args…` in `dir` with `env` (and no inherited PROPUSK_* settings), feeding
/// `stdin`.
pub fn propusk(dir: &Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PROPUSK_")) {
        command.env_remove(key);
    }
    command.env("PROPUSK_BCRYPT_COST", "4");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
