//! CSRF protection for every HTML form: a random cookie, and in the form an HMAC of it under a
//! key derived from the master key (signed double submit). A cross-site page can neither read
//! the cookie nor forge the HMAC.

use crate::crypto::{mac, same};

/// The form field carrying the token.
pub const FIELD: &str = "csrf";

/// The token a form must carry for this cookie value.
pub fn token_for(key: &[u8; 32], cookie: &str) -> String {
    mac(key, format!("csrf:{cookie}").as_bytes())
}

/// True when `token` was made for `cookie`.
pub fn verify(key: &[u8; 32], cookie: Option<&str>, token: Option<&str>) -> bool {
    match (cookie, token) {
        (Some(cookie), Some(token)) if !cookie.is_empty() => same(&token_for(key, cookie), token),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_to_their_cookie_and_key() {
        let key = [1; 32];
        let token = token_for(&key, "c1");
        assert!(verify(&key, Some("c1"), Some(&token)));
        assert!(!verify(&key, Some("c2"), Some(&token)));
        assert!(!verify(&[2; 32], Some("c1"), Some(&token)));
        assert!(!verify(&key, None, Some(&token)));
        assert!(!verify(&key, Some("c1"), None));
        assert!(!verify(&key, Some(""), Some(&token_for(&key, ""))));
    }
}
