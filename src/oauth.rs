//! The OAuth 2.0 / OpenID Connect protocol core: values, rules and grants, free of HTTP and
//! storage types so it can be tested on its own.

pub mod acr;
pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod clients;
pub mod code;
pub mod error;
#[cfg(test)]
pub(crate) mod fakes;
pub mod grant;
pub mod id_token;
pub mod introspect;
pub mod jwt;
pub mod metadata;
pub mod pkce;
pub mod ports;
pub mod provider;
pub mod refresh;
pub mod request;
pub mod revocation;
pub mod revoke;
pub mod session;
pub mod subject;
pub mod token;
