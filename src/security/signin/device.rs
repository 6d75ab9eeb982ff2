//! Known devices: a browser that signed in successfully gets a long-lived signed cookie with a
//! random device id, and the user's set of known devices remembers it. Lockout gives a known
//! device its own failure budget, and a sign-in from an unknown device can be announced.

use time::{Duration, OffsetDateTime};

use crate::crypto::random_token;
use crate::crypto::{mac, same};
use crate::model::user::UserId;
use crate::store::StoreError;
use crate::store::hot::HotState;
use crate::store::hot::Key;

/// How long a device stays known without signing in again.
pub const REMEMBER: Duration = Duration::days(180);

pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-propusk-device"
    } else {
        "propusk_device"
    }
}

/// A new device id and its cookie value (`{id}.{mac}`).
pub fn issue(key: &[u8; 32]) -> (String, String) {
    let id = random_token::<16>();
    let value = format!("{id}.{}", mac(key, id.as_bytes()));
    (id, value)
}

/// The device id of a cookie value whose signature holds.
pub fn verify(key: &[u8; 32], cookie: &str) -> Option<String> {
    let (id, tag) = cookie.split_once('.')?;
    (id.len() <= 64 && same(tag, &mac(key, id.as_bytes()))).then(|| id.to_owned())
}

fn devices_key(user: UserId) -> Key<'static> {
    Key::Devices(user)
}

/// True when `device` signed in as `user` before.
pub async fn is_known(hot: &HotState, user: UserId, device: &str) -> Result<bool, StoreError> {
    hot.set_contains(devices_key(user), device).await
}

/// Remembers `device` for `user` (again) for [`REMEMBER`].
pub async fn remember(hot: &HotState, user: UserId, device: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    hot.set_add(devices_key(user), device, now + REMEMBER).await
}

/// Forgets every device of `user` (after a password reset).
pub async fn forget_all(hot: &HotState, user: UserId) -> Result<(), StoreError> {
    hot.delete(devices_key(user)).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_signature_makes_a_device_cookie() {
        let key = [7u8; 32];
        let (id, cookie) = issue(&key);
        assert_eq!(verify(&key, &cookie), Some(id.clone()));
        assert_eq!(verify(&[8u8; 32], &cookie), None, "another key");
        assert_eq!(
            verify(&key, &format!("{id}x.{}", cookie.split_once('.').map_or("", |c| c.1))),
            None
        );
        assert_eq!(verify(&key, "no-dot"), None);
    }
}
