//! Who may come in: sign-in and its steps ([`signin`]), password reset, browser sessions, and the
//! protections around them — the client's address behind trusted proxies, rate limits, CSRF
//! tokens.

pub mod backchannel;
pub mod client_ip;
pub mod csrf;
pub mod ratelimit;
pub mod reset;
pub mod services;
pub mod session;
pub mod signin;

pub use services::Services;
