//! Protections: the client's address behind trusted proxies, rate limits, CSRF tokens and
//! browser sessions.

pub mod client_ip;
pub mod csrf;
pub mod device;
pub mod lockout;
pub mod login;
pub mod otp;
pub mod password_grant;
pub mod ratelimit;
pub mod reset;
pub mod second_factor;
pub mod services;
pub mod session;
pub mod signin;

pub use services::Services;
