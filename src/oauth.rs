//! The OAuth 2.0 / OpenID Connect protocol core: values, rules and grants, free of HTTP and
//! storage types so it can be tested on its own.

pub mod redirect_uri;
pub mod scope;
