//! End-to-end tests of the HTTP server: the real app on port 0, on the embedded default and
//! on real PostgreSQL + Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/support.rs"]
mod support;

mod account;
mod admin_clients;
mod admin_idps;
mod admin_users;
mod audit;
mod authority;
mod authorize;
mod authz;
mod backchannel;
mod client_keys;
mod cluster;
mod code_exchange;
mod codes;
mod console;
mod discovery;
mod events;
mod faults;
mod federation;
mod feed;
mod gateway;
mod health;
mod hygiene;
mod introspect;
mod logout;
mod oidc;
mod openapi;
mod pages;
mod protection;
mod startup;
mod token;
mod two_factor;
