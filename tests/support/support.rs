//! Test harness shared by the test binaries: real PostgreSQL (a fresh database per test,
//! cloned from a migrated template), real Redis (a unique key prefix per test), a TCP proxy that
//! can cut a connection mid-test, and `TestApp`, the real server on port 0. One file per concern:
//! stores, app, browser, flows, kafka, mail, sms.
//!
//! Components are required: when PostgreSQL or Redis is unreachable the tests fail loudly.
// Each test binary uses a part of the harness: the rest is neither dead code nor an unused import.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use propusk::app::App;
use propusk::clock::ManualClock;
use propusk::config::{Config, DatabaseConfig, RedisConfig};
use propusk::identity::admin::NewApplication;
use secrecy::SecretString;
use sqlx::{Connection as _, Executor as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[path = "stores.rs"]
mod stores;
pub use stores::*;
#[path = "app.rs"]
mod app;
pub use app::*;
#[path = "browser.rs"]
mod browser;
pub use browser::*;
#[path = "flows.rs"]
mod flows;
pub use flows::*;
#[path = "kafka.rs"]
mod kafka;
pub use kafka::*;
#[path = "mail.rs"]
mod mail;
pub use mail::*;
#[path = "sms.rs"]
mod sms;
pub use sms::*;

mod rp;
pub use rp::*;

mod nginx;
pub use nginx::*;
