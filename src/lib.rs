//! Propusk: an OAuth 2.0 / OpenID Connect authorization server and the user, role and
//! permission service of a B2B parcel-tracking platform.

pub mod app;
pub mod audit;
pub mod authz;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod events;
pub mod federation;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod keys;
pub mod model;
pub mod notify;
pub mod oauth;
pub mod outbound;
pub mod security;
pub mod store;
pub mod telemetry;
